import { BadRequestException, INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { FastifyReply } from 'fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { ensureDatabase, runMigrations, validateEnvironment } from '@app/shared';
import { AppModule, Roles } from './app.module';
import { validationPipe } from './http/validation.pipe';

/** A batch of 1,000 calls is well under 2 MB. */
const BODY_LIMIT = 5 * 1024 * 1024;

/**
 * Builds the application for the given roles without listening (tests use this too).
 *
 * HTTP runs on Fastify (through Nest's adapter): in a same-machine comparison of one Nest app on each adapter
 * (validated JSON POST, 64 keep-alive clients) Fastify answered about twice the requests per second of Express,
 * and five times on a bare GET. Its router keeps Express's leniencies we promise clients: a trailing slash is
 * ignored, and ids up to 1,000 characters reach the validation that names them instead of a 404.
 */
export async function createApp(roles: Roles, options: { migrate?: boolean } = {}): Promise<NestFastifyApplication> {
  const env = validateEnvironment(process.env); // fail fast, before anything connects
  if (options.migrate ?? true) {
    await ensureDatabase(env.DATABASE_URL);
    await runMigrations(env.DATABASE_URL);
  }
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT,
    frameworkErrors,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1000 },
    // Every request has an id: the caller's x-request-id, or a new uuid. It is in every log line of the request
    // and goes back in the answer's x-request-id, so a dialler can quote it.
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
  });
  adapter.getInstance().addHook('onRequest', (req, reply, done) => {
    void reply.header('x-request-id', req.id);
    done();
  });
  acceptJsonBodies(adapter);
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(roles), adapter, { bufferLogs: true, bodyParser: false });
  app.useLogger(app.get(Logger));
  app.useGlobalPipes(validationPipe());
  app.enableShutdownHooks();
  if (roles.api) setupOpenApi(app);
  return app;
}

/**
 * JSON bodies. JSON.parse, as Express's body parser did: a "__proto__" key becomes an own property (never the
 * prototype), which the validation pipe then refuses by name like any unknown field. (Fastify's own parser
 * refuses such a body whole, naming no field.) What it cannot parse is the client's fault: a 400 naming the body.
 * A body must be an object or an array; an empty one is {} (an action like POST …/cancel may be sent with a JSON
 * content type and nothing in it).
 */
function acceptJsonBodies(adapter: FastifyAdapter): void {
  const fastify = adapter.getInstance();
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_req, text, done) => {
    const json = text.toString();
    if (json.trim() === '') return done(null, {});
    let body: unknown;
    try {
      body = JSON.parse(json);
    } catch (err) {
      return done(new BadRequestException(`body is not valid JSON: ${(err as Error).message}`), undefined);
    }
    if (body === null || typeof body !== 'object') return done(new BadRequestException('body is not valid JSON for this request: send an object or an array'), undefined);
    done(null, body);
  });
}

/** The router's own refusals (a URL it cannot decode) leave in the shape of every other error (SPEC §9). */
function frameworkErrors(err: { message: string }, _req: unknown, reply: FastifyReply): void {
  void reply.status(400).send({ statusCode: 400, error: 'Bad Request', message: err.message });
}

function setupOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Follow-up engine')
    .setDescription('Calls, notes and follow-ups for call centres: ingest, scheduling, the follow-ups hub and reports.')
    .setVersion('0.1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'API key' })
    .build();
  SwaggerModule.setup('api/docs', app, () => SwaggerModule.createDocument(app, config), { jsonDocumentUrl: 'api/docs-json' });
}

export async function serve(roles: Roles): Promise<void> {
  try {
    const app = await createApp(roles);
    const port = validateEnvironment(process.env).PORT;
    // Every interface, as Node's own default: IPv6 and IPv4 where the host has IPv6, IPv4 alone where it does not.
    // (Fastify alone would listen on localhost only.)
    await app.listen(port, '::').catch((err: { code?: string }) => {
      if (err.code !== 'EAFNOSUPPORT' && err.code !== 'EADDRNOTAVAIL') throw err;
      return app.listen(port, '0.0.0.0');
    });
    app.get(Logger).log({ port, roles }, 'follow-up engine listening');
  } catch (err) {
    // Configuration errors are for humans: print them plainly.
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
}
