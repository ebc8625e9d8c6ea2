import { BadRequestException, HttpException, HttpStatus } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { FastifyReply, FastifyRequest, LogController } from 'fastify';
import { Logger } from 'pino';
import { randomUUID } from 'node:crypto';

/** A batch of 1,000 calls is well under 2 MB. */
const BODY_LIMIT = 5 * 1024 * 1024;
/** An x-request-id we take from the caller; any other value gets a new uuid (it goes into every log line). */
const REQUEST_ID = /^[\w.:-]{1,128}$/;
const MAX_MESSAGE = 200;

/**
 * HTTP runs on Fastify (through Nest's adapter): in a same-machine comparison of one Nest app on each adapter
 * (validated JSON POST, 64 keep-alive clients) Fastify answered about twice the requests per second of Express,
 * and five times on a bare GET. What clients saw under Express is kept where it was a promise:
 * - paths match whatever their case, a trailing slash is ignored, ids up to 1,000 characters reach the
 *   validation that names them;
 * - a body is JSON (UTF-8), up to 5 MB; a request without one (an action like POST …/cancel) may carry any
 *   content type; an upload is cut off after 300 s, as Node's own server did;
 * - every refusal, the router's and the body parser's too, leaves in the shape of SPEC §9.
 * Compressed request bodies (Express inflated them) are refused with 415 naming the encoding.
 */
export function createHttpAdapter(logger: Logger, trustProxy = ''): FastifyAdapter {
  const adapter = new FastifyAdapter({
    // req.ip from X-Forwarded-For only through the proxies TRUST_PROXY names (their addresses or networks)
    trustProxy: trustProxy === '' ? false : trustProxy.split(',').map((a) => a.trim()),
    // Each request logs through a child of the process's logger that carries its id (libs/shared/src/platform/logger.ts);
    // one "request completed" line per request is written below, not Fastify's two.
    loggerInstance: logger,
    logController: new RequestLog(),
    bodyLimit: BODY_LIMIT,
    requestTimeout: 300_000,
    frameworkErrors,
    routerOptions: { ignoreTrailingSlash: true, caseSensitive: false, maxParamLength: 1000 },
    // Every request has an id: the caller's x-request-id when it is a plain token, else a new uuid. It is in every
    // log line of the request and goes back in the answer's x-request-id, so a dialler can quote it.
    requestIdHeader: false,
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
  });
  const fastify = adapter.getInstance();
  fastify.addHook('onRequest', (req, reply, done) => {
    void reply.header('x-request-id', req.id);
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      return done(new HttpException(`content-encoding ${encoding.slice(0, 40)} is not supported: send the body uncompressed`, HttpStatus.UNSUPPORTED_MEDIA_TYPE));
    }
    done();
  });
  acceptBodies(adapter);
  return adapter;
}

/**
 * One "request completed" line per request (method, URL, status, time), not Fastify's two; probes and scrapes are not
 * logged. Errors are logged by Fastify's defaults.
 */
class RequestLog extends LogController {
  constructor() {
    super({ disableRequestLogging: (req) => /^\/(metrics|health)(\/|\?|$)/i.test(req.url) });
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, req: FastifyRequest, reply: FastifyReply, metadata?: Record<string, unknown>): void {
    if (error || this.isLogDisabled(req)) return super.requestCompleted(error, req, reply, metadata);
    reply.log.info({ req: { method: req.method, url: loggableUrl(req.url) }, res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime }, 'request completed');
  }
}

/**
 * A request's URL for the log, without what a contact search carries (`q`: part of a lead's name or phone number): the
 * request log is kept and shipped where the contacts' own records are not, and a phone number is personal data.
 */
export const loggableUrl = (url: string): string => url.replace(/([?&]q=)[^&#]*/gi, '$1[redacted]');

/**
 * JSON bodies, by JSON.parse as Express's body parser did: a "__proto__" key becomes an own property (never the
 * prototype), which the validation pipe then refuses by name like any unknown field. (Fastify's own parser
 * refuses such a body whole, naming no field.) The bytes must be UTF-8: another charset is a 415, bytes that are
 * not UTF-8 a 400, never a string with replacement characters. A body must be an object or an array; an empty
 * one is {}. Other content types are a 415, unless the body is empty.
 */
function acceptBodies(adapter: FastifyAdapter): void {
  const fastify = adapter.getInstance();
  fastify.removeAllContentTypeParsers();
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (req, bytes, done) => {
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') return done(unsupported(`charset ${charset}`), undefined);
    let text: string;
    try {
      text = utf8.decode(bytes as Buffer);
    } catch {
      return done(new BadRequestException('body is not valid UTF-8'), undefined);
    }
    if (text.trim() === '') return done(null, {});
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      return done(new BadRequestException(`body is not valid JSON: ${(err as Error).message}`), undefined);
    }
    if (body === null || typeof body !== 'object') return done(new BadRequestException('body is not valid JSON for this request: send an object or an array'), undefined);
    done(null, body);
  });
  fastify.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (req, bytes, done) => {
    if ((bytes as Buffer).length === 0) return done(null, undefined);
    done(unsupported(`content-type ${String(req.headers['content-type']).slice(0, 80)}`), undefined);
  });
}

const unsupported = (what: string) => new HttpException(`${what} is not supported: send application/json (UTF-8)`, HttpStatus.UNSUPPORTED_MEDIA_TYPE);

/** The router's own refusals (a URL it cannot decode) leave in the shape of every other error (SPEC §9). */
function frameworkErrors(err: { message: string }, req: FastifyRequest, reply: FastifyReply): void {
  if (req?.id) void reply.header('x-request-id', req.id);
  const message = err.message.length > MAX_MESSAGE ? `${err.message.slice(0, MAX_MESSAGE)}…` : err.message;
  void reply.status(400).send({ statusCode: 400, error: 'Bad Request', message });
}
