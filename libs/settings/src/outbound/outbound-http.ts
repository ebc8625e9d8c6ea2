import { Injectable, Logger } from '@nestjs/common';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { isIPv6 } from 'node:net';
import { finished } from 'node:stream/promises';
import { Webhook } from 'standardwebhooks';
import { buildConnector, Pool } from 'undici';
import { ConfigService } from '@nestjs/config';
import { Clock } from '@app/shared';
import { DEFAULT_PRIVATE_NETWORKS, inNetworks, isPublicAddress, Network, parseNetworks } from '@app/shared';
import { PreviousSigningSecret } from '../domain/settings';
import { isHostAllowed, normalizeHost, outboundUrlProblem } from '../domain/settings.validation';
import { SettingsRepository } from '../settings.repository';
import { HostResolver } from './host-resolver';
import { SecretKeyMissingError } from '../secret-box';

export interface OutboundRequest {
  readonly url: string;
  /** `webhook-id`: stable across retries of one message, so the receiver can drop duplicates. */
  readonly messageId: string;
  /** Sent as JSON. */
  readonly body: unknown;
  /** The whole exchange, DNS lookup to last byte; default 10 s. */
  readonly timeoutMs?: number;
}

export interface OutboundResult {
  /** A 2xx answer. */
  readonly ok: boolean;
  /** The HTTP status, or null when there was no answer (refused, unresolvable, timed out, connection failed). */
  readonly status: number | null;
  /** Why it was not ok; null when it was. */
  readonly error: string | null;
  /**
   * Set when the request never left and sending it again soon cannot change that: its URL or the address it resolves
   * to is not allowed, its host name does not exist, or its body cannot be written. See `mayPassOnRetry`.
   */
  readonly permanent?: true;
  /** What the answer's `Retry-After` asked for (a 429 or 503 says when to come back), in ms, at most an hour. */
  readonly retryAfterMs?: number;
}

/**
 * Whether a failed request may be taken if it is sent again soon: no answer (a timeout, a refused connection, a name
 * that did not resolve: a receiver restarting, a network blip), or an answer that says "later" (408, 425, 429, 5xx).
 * Any other 4xx, a 3xx (not followed) or a request refused before it left says the same every time.
 */
export const mayPassOnRetry = (r: OutboundResult): boolean =>
  !r.ok && !r.permanent && (r.status === null || r.status === 408 || r.status === 425 || r.status === 429 || r.status >= 500);

const DEFAULT_TIMEOUT_MS = 10_000;
/**
 * Of an answer's body, read at most this much: it is not used, and one that goes on and on (a receiver's choice) would
 * otherwise hold the request to its timeout and make a 2xx a failure, so a delivery the receiver took is sent again.
 */
const MAX_ANSWER_BYTES = 64 * 1024;
const MAX_AGENTS = 1_000;
const MAX_SIGNERS = 1_000;

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A keep-alive pool for one destination and checked address set, and how its connections are opened. */
interface Destination {
  readonly pool: Pool;
  /** Hands the connection only the checked addresses. */
  readonly lookup: (hostname: string, options: LookupOptions, callback: LookupCallback) => void;
  /** The pool's connector (read at each connect) and its connect timeout: see `destinationFor`. */
  readonly connecting: { timeoutMs: number; connector: buildConnector.connector };
}

/**
 * Signed POSTs to addresses an organization configured (webhooks, the dialler, the SMS provider), with an SSRF
 * guard: only http(s); plain http, and any host that resolves to a non-public address, only when the host is in
 * the org's `webhooks.allowHttpHosts`. The connection goes to the addresses that were checked (our own `lookup`),
 * so a DNS answer that changes between the check and the connect (rebinding) cannot redirect it. Redirects are not
 * followed; an answer's body is read up to MAX_ANSWER_BYTES; the lookup and the exchange together end at the timeout.
 * Signed the Standard Webhooks way with the org's `signingSecret`, and during the overlap after a rotation with the
 * secret it replaced as well (two space-separated signatures; a receiver accepts the request if either verifies).
 *
 * Sent with undici rather than node:http for CPU: this path was ~13% of the worker's CPU in the worker benchmark's
 * profile, and a micro-benchmark measured ~145 µs of CPU per request with node:http against ~90 µs with undici's
 * `Pool.request`.
 */
@Injectable()
export class OutboundHttp {
  private readonly logger = new Logger(OutboundHttp.name);
  /**
   * Keep-alive connection pools, one per destination AND the exact addresses checked for it: a connection is
   * reused only to an address this request's own check passed (a DNS change makes a new pool), so pooling
   * does not weaken the SSRF guard. A worker posting to one receiver then opens a handful of connections
   * instead of one per request.
   */
  private readonly agents = new Map<string, Destination>();
  /** `Webhook` per signing secret (it decodes the secret once); keyed by the secret, so a rotated one is used at once. */
  private readonly signers = new Map<string, Webhook>();

  /** OUTBOUND_PRIVATE_NETWORKS: the operator's bound on what an org's allowHttpHosts opens. */
  private readonly privateNetworks: readonly Network[];

  constructor(
    private readonly settings: SettingsRepository,
    private readonly resolver: HostResolver,
    config: ConfigService,
    private readonly clock: Clock,
  ) {
    this.privateNetworks = parseNetworks(config.get<string>('OUTBOUND_PRIVATE_NETWORKS') ?? DEFAULT_PRIVATE_NETWORKS);
  }

  async post(orgId: string, request: OutboundRequest): Promise<OutboundResult> {
    // Cached for a second: a worker signs many requests for one org; a rotated secret applies within a second.
    let settings: Awaited<ReturnType<SettingsRepository['ensureCached']>>;
    try {
      settings = await this.settings.ensureCached(orgId);
    } catch (err) {
      // a secret no listed key opens: the request cannot be signed, and will not be until an admin rotates the secret
      // (or the key is put back): the attempt fails saying so, rather than the job failing unseen
      if (err instanceof SecretKeyMissingError) return this.refused(orgId, err.message, { keyId: err.keyId });
      throw err;
    }
    const { signingSecret, previousSigningSecret, webhooks } = settings;
    const allow = webhooks.allowHttpHosts;

    const problem = typeof request.url === 'string' ? outboundUrlProblem(request.url, allow) : 'must be an absolute http(s) URL';
    if (problem) return this.refused(orgId, `url ${problem}`);
    const url = new URL(request.url);
    const host = normalizeHost(url.hostname);
    const timeoutMs = request.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const started = performance.now();

    let addresses: LookupAddress[];
    try {
      // A name server that never answers must not hold the job past its timeout.
      addresses = await withinTimeout(this.resolver.resolve(host), timeoutMs);
    } catch (err) {
      if (err === TIMED_OUT) return fail(`timed out after ${timeoutMs} ms`);
      const code = (err as NodeJS.ErrnoException).code;
      // No such name: a mistyped or retired host, which asking again soon will not change (EAI_AGAIN, a name server that
      // failed to answer, may pass).
      const unresolved = fail(`cannot resolve ${host}: ${code ?? (err as Error).message}`);
      return code === 'ENOTFOUND' ? { ...unresolved, permanent: true } : unresolved;
    }
    if (addresses.length === 0) return { ...fail(`cannot resolve ${host}: no address`), permanent: true };
    // The address goes to the log, not into the result: a follow-up's lastError is shown to every role that sees it,
    // and would map the internal network for anyone who can schedule a webhook.
    if (!isHostAllowed(host, allow)) {
      const blocked = addresses.find((a) => !isPublicAddress(a.address));
      if (blocked) return this.refused(orgId, `${host} resolves to a non-public address, allowed only to a host listed in webhooks.allowHttpHosts`, { address: blocked.address });
    } else {
      // Listed by the org's admin, but the operator bounds what a listing opens: a tenant must not reach the
      // service's own network (its Redis, its database, a cloud metadata address) by listing a name that points there.
      const blocked = addresses.find((a) => !isPublicAddress(a.address) && !inNetworks(a.address, this.privateNetworks));
      if (blocked) return this.refused(orgId, `${host} resolves to an address outside the networks this service may reach (OUTBOUND_PRIVATE_NETWORKS)`, { address: blocked.address });
    }

    let payload: string | undefined;
    try {
      payload = JSON.stringify(request.body);
    } catch (err) {
      return { ...fail(`body is not JSON-serialisable: ${(err as Error).message}`), permanent: true };
    }
    if (payload === undefined) return { ...fail('body is not JSON-serialisable'), permanent: true };

    // The signature's timestamp is for the receiver's replay check against its own wall clock: not the domain Clock.
    const timestamp = new Date();
    const headers = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(payload)),
      'user-agent': 'followup-engine',
      'webhook-id': request.messageId,
      'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'webhook-signature': this.signatures(signingSecret, previousSigningSecret, request.messageId, timestamp, payload),
    };
    const pool = this.destinationFor(url, host, addresses, timeoutMs);
    const leftMs = Math.ceil(timeoutMs - (performance.now() - started));
    if (leftMs <= 0) return fail(`timed out after ${timeoutMs} ms`);
    return this.send(pool, url, headers, payload, timeoutMs, leftMs);
  }

  /** `leftMs`: what remains of `timeoutMs` after the lookup. */
  private send(pool: Pool, url: URL, headers: Record<string, string>, payload: string, timeoutMs: number, leftMs: number): Promise<OutboundResult> {
    return new Promise<OutboundResult>((resolve) => {
      let settled = false;
      const finish = (result: OutboundResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };
      const controller = new AbortController();
      // Aborting tears the request down while it is sent or its answer read (the connection is closed); a connect
      // still under way when it times out is ended by the pool's connect timeout (see `destinationFor`).
      const timer = setTimeout(() => {
        finish(fail(`timed out after ${timeoutMs} ms`));
        controller.abort();
      }, leftMs);

      exchange(pool, `${url.pathname}${url.search}`, headers, payload, controller.signal, timeoutMs).then(
        (result) => {
          // The exchange is over; the answer is told one event-loop turn later: undici hands a connection to the
          // next request only then (it waits for a receiver that closes anyway: lib/dispatcher/client-h1.js,
          // onMessageComplete), and a caller's next post sent sooner would find it taken and open another.
          clearTimeout(timer);
          setImmediate(finish, result);
        },
        (err: unknown) => finish(fail(`request failed: ${failureCode(err)}`)),
      );
    });
  }

  /**
   * The pool for this destination and these checked addresses. Its connections are opened by `net.connect` /
   * `tls.connect` with our `lookup` (undici's connector passes the extra `connect` options through to them), so
   * they reach only the checked addresses; TLS is checked against the URL's host name (undici's servername is the
   * Host header's name, and `host` stays the name: only the lookup is ours).
   */
  private destinationFor(url: URL, host: string, addresses: LookupAddress[], timeoutMs: number): Pool {
    const key = `${url.protocol}//${host}:${url.port}|${addresses.map((a) => a.address).join(',')}`;
    let destination = this.agents.get(key);
    if (!destination) {
      if (this.agents.size >= MAX_AGENTS) {
        // close, not destroy: requests under way in these pools (another org's, say) finish first; destroying them
        // failed every delivery in flight whenever one sender used a thousand destinations.
        for (const d of this.agents.values()) void d.pool.close().catch(() => undefined);
        this.agents.clear();
      }
      // Hand the connection only the addresses that passed the check: no second DNS answer is ever used.
      const lookup = (_hostname: string, options: LookupOptions, callback: LookupCallback) => {
        const candidates = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
        if (candidates.length === 0) return callback(Object.assign(new Error(`no IPv${options.family} address for ${host}`), { code: 'ENOTFOUND' }), '');
        if (options.all) callback(null, candidates);
        else callback(null, candidates[0].address, candidates[0].family);
      };
      const origin = `${url.protocol}//${isIPv6(host) ? `[${host}]` : host}${url.port ? `:${url.port}` : ''}`;
      const connecting = { timeoutMs, connector: buildConnector({ lookup, timeout: timeoutMs }) };
      // Up to 64 connections per destination, each kept open while idle for up to 30 s (less when the receiver's
      // Keep-Alive header says so): follow-ups are executed in groups, so a burst frees dozens of connections at once
      // and needs them again a moment later; with fewer kept (16 before), every group opened and closed the
      // difference anew, 3% of a worker's CPU in connect and close at 1,000 webhooks a second. undici keeps every
      // connection of the pool open until its keep-alive timeout, busy or idle, so all 64 stay available.
      const pool = new Pool(origin, {
        connections: 64,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 30_000,
        connect: (options, callback) => connecting.connector(options, callback),
      });
      destination = { pool, lookup, connecting };
      this.agents.set(key, destination);
    }
    // undici bounds each connect attempt by itself (10 s by default), which could end a request with a longer
    // timeoutMs early, with another error; and aborting a request does not stop the connect it is waiting for. So
    // the connect timeout is the longest timeoutMs sent through this pool: each request's own timer ends it first,
    // and a connect left behind by a timed-out request (e.g. a receiver that never answers the TLS handshake) is
    // closed soon after (undici's connect timer is coarse: up to about a second late). Rebuilt only when a longer
    // timeoutMs comes (one timeoutMs in practice), which drops the connector's TLS session cache.
    const { connecting } = destination;
    if (timeoutMs > connecting.timeoutMs) {
      connecting.timeoutMs = timeoutMs;
      connecting.connector = buildConnector({ lookup: destination.lookup, timeout: timeoutMs });
    }
    return destination.pool;
  }

  /**
   * `v1,<new>`, or `v1,<new> v1,<previous>` while the replaced secret's overlap lasts. The end is checked here, at each
   * send, against the service's clock: the settings may come from a cache loaded before it.
   */
  private signatures(current: string, previous: PreviousSigningSecret | undefined, messageId: string, timestamp: Date, payload: string): string {
    const signature = this.signerFor(current).sign(messageId, timestamp, payload);
    if (!previous || this.clock.now().getTime() >= Date.parse(previous.expiresAt)) return signature;
    return `${signature} ${this.signerFor(previous.secret).sign(messageId, timestamp, payload)}`;
  }

  private signerFor(secret: string): Webhook {
    let signer = this.signers.get(secret);
    if (!signer) {
      signer = new Webhook(secret);
      if (this.signers.size >= MAX_SIGNERS) this.signers.clear();
      this.signers.set(secret, signer);
    }
    return signer;
  }

  /**
   * Not in onModuleDestroy: that runs before the workers stop, and destroying the pools aborted the deliveries their
   * running jobs were making (UND_ERR_DESTROYED), so every graceful shutdown counted a failed attempt for each.
   */
  async onApplicationShutdown(): Promise<void> {
    const pools = [...this.agents.values()].map((d) => d.pool);
    this.agents.clear();
    this.signers.clear();
    await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)));
  }

  private refused(orgId: string, reason: string, detail: Record<string, unknown> = {}): OutboundResult {
    this.logger.warn({ orgId, reason, ...detail }, 'outbound request refused');
    return { ...fail(`refused: ${reason}`), permanent: true };
  }
}

/** One POST; redirects are not followed (undici's `request` does not follow them); the answer's body is bounded. */
async function exchange(
  pool: Pool,
  path: string,
  headers: Record<string, string>,
  payload: string,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<OutboundResult> {
  const { statusCode: status, body, headers: answer } = await pool.request({
    method: 'POST',
    path,
    headers,
    body: payload,
    signal,
    // undici's own limits (300 s by default) must not end a long timeoutMs first, with another error.
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  // The answer's body is not used, but read to its end (as node:http's `res.resume()` did): a 2xx is ok only when
  // the whole answer arrived; one cut short fails with its error. Not `body.dump()`: it calls a cut answer done.
  // Past MAX_ANSWER_BYTES we hang up (destroying the body closes the connection) and the status decides.
  let received = 0;
  let tooLong = false;
  body.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received > MAX_ANSWER_BYTES && !tooLong) {
      tooLong = true;
      body.destroy();
    }
  });
  try {
    await finished(body);
  } catch (err) {
    if (!tooLong) throw err;
  }
  if (status >= 200 && status < 300) return { ok: true, status, error: null };
  const retryAfterMs = retryAfter(answer['retry-after'], Date.now());
  return retryAfterMs === undefined ? { ok: false, status, error: `HTTP ${status}` } : { ok: false, status, error: `HTTP ${status}`, retryAfterMs };
}

/** A `Retry-After` header (seconds, or an HTTP date) as milliseconds from `now`, at most an hour; undefined when absent or unreadable. */
export function retryAfter(header: string | string[] | undefined, now: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  // delay-seconds, or an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`): Date.parse alone takes "1.5" for a date
  const ms = /^\d+$/.test(v) ? Number(v) * 1000 : /^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(v) ? Date.parse(v) - now : NaN;
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), 3_600_000) : undefined;
}

const TIMED_OUT = Symbol('timed out');

/** `promise`, or a rejection with TIMED_OUT after `ms`. */
function withinTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => (timer = setTimeout(reject, ms, TIMED_OUT)));
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** The error's code, as node:http gave it (`ECONNREFUSED`, a TLS code) or undici's own (`UND_ERR_SOCKET`, ...). */
function failureCode(err: unknown): string {
  const e = err as { code?: unknown; cause?: { code?: unknown }; message?: unknown } | null;
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  return typeof e?.message === 'string' ? e.message : String(err);
}

const fail = (error: string): OutboundResult => ({ ok: false, status: null, error });
