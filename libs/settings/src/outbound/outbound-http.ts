import { Injectable, Logger } from '@nestjs/common';
import type { LookupAddress, LookupOptions } from 'node:dns';
import * as http from 'node:http';
import * as https from 'node:https';
import { Webhook } from 'standardwebhooks';
import { isPublicAddress } from '../domain/ip-address';
import { isHostAllowed, normalizeHost, outboundUrlProblem } from '../domain/settings.validation';
import { SettingsRepository } from '../settings.repository';
import { HostResolver } from './host-resolver';

export interface OutboundRequest {
  readonly url: string;
  /** `webhook-id`: stable across retries of one message, so the receiver can drop duplicates. */
  readonly messageId: string;
  /** Sent as JSON. */
  readonly body: unknown;
  /** The whole exchange, connect to last byte; default 10 s. */
  readonly timeoutMs?: number;
}

export interface OutboundResult {
  /** A 2xx answer. */
  readonly ok: boolean;
  /** The HTTP status, or null when there was no answer (refused, unresolvable, timed out, connection failed). */
  readonly status: number | null;
  /** Why it was not ok; null when it was. */
  readonly error: string | null;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_AGENTS = 1_000;

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * Signed POSTs to addresses an organization configured (webhooks, the dialler, the SMS provider), with an SSRF
 * guard: only http(s); plain http, and any host that resolves to a non-public address, only when the host is in
 * the org's `webhooks.allowHttpHosts`. The connection goes to the addresses that were checked (our own `lookup`),
 * so a DNS answer that changes between the check and the connect (rebinding) cannot redirect it. Redirects are not
 * followed. Signed the Standard Webhooks way with the org's `signingSecret`.
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
  private readonly agents = new Map<string, http.Agent>();

  constructor(
    private readonly settings: SettingsRepository,
    private readonly resolver: HostResolver,
  ) {}

  async post(orgId: string, request: OutboundRequest): Promise<OutboundResult> {
    // Cached for a second: a worker signs many requests for one org; a rotated secret applies within a second.
    const { signingSecret, webhooks } = await this.settings.ensureCached(orgId);
    const allow = webhooks.allowHttpHosts;

    const problem = typeof request.url === 'string' ? outboundUrlProblem(request.url, allow) : 'must be an absolute http(s) URL';
    if (problem) return this.refused(orgId, `url ${problem}`);
    const url = new URL(request.url);
    const host = normalizeHost(url.hostname);

    let addresses: LookupAddress[];
    try {
      addresses = await this.resolver.resolve(host);
    } catch (err) {
      return fail(`cannot resolve ${host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (addresses.length === 0) return fail(`cannot resolve ${host}: no address`);
    if (!isHostAllowed(host, allow)) {
      const blocked = addresses.find((a) => !isPublicAddress(a.address));
      if (blocked) {
        return this.refused(orgId, `${host} resolves to a non-public address (${blocked.address}), allowed only to a host listed in webhooks.allowHttpHosts`);
      }
    }

    let payload: string | undefined;
    try {
      payload = JSON.stringify(request.body);
    } catch (err) {
      return fail(`body is not JSON-serialisable: ${(err as Error).message}`);
    }
    if (payload === undefined) return fail('body is not JSON-serialisable');

    // The signature's timestamp is for the receiver's replay check against its own wall clock: not the domain Clock.
    const timestamp = new Date();
    const headers = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(payload)),
      'user-agent': 'followup-engine',
      'webhook-id': request.messageId,
      'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'webhook-signature': new Webhook(signingSecret).sign(request.messageId, timestamp, payload),
    };
    return this.send(url, host, addresses, headers, payload, request.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  }

  private send(
    url: URL,
    host: string,
    addresses: LookupAddress[],
    headers: Record<string, string>,
    payload: string,
    timeoutMs: number,
  ): Promise<OutboundResult> {
    return new Promise<OutboundResult>((resolve) => {
      let settled = false;
      const finish = (result: OutboundResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };
      const controller = new AbortController();
      const timer = setTimeout(() => {
        finish(fail(`timed out after ${timeoutMs} ms`));
        controller.abort();
      }, timeoutMs);

      // Hand the connection only the addresses that passed the check: no second DNS answer is ever used.
      const lookup = (_hostname: string, options: LookupOptions, callback: LookupCallback) => {
        const candidates = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
        if (candidates.length === 0) return callback(Object.assign(new Error(`no IPv${options.family} address for ${host}`), { code: 'ENOTFOUND' }), '');
        if (options.all) callback(null, candidates);
        else callback(null, candidates[0].address, candidates[0].family);
      };

      const transport = url.protocol === 'https:' ? https : http;
      const agent = this.agentFor(url, host, addresses, lookup);
      const req = transport.request(
        {
          method: 'POST',
          protocol: url.protocol,
          hostname: host,
          port: url.port || undefined,
          path: `${url.pathname}${url.search}`,
          headers,
          lookup: lookup as unknown as http.RequestOptions['lookup'],
          agent,
          signal: controller.signal,
        },
        (res) => {
          const status = res.statusCode ?? 0;
          res.resume(); // the answer's body is not used
          res.on('error', () => undefined);
          res.on('end', () => finish(status >= 200 && status < 300 ? { ok: true, status, error: null } : { ok: false, status, error: `HTTP ${status}` }));
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => finish(fail(`request failed: ${err.code ?? err.message}`)));
      req.end(payload);
    });
  }

  private agentFor(url: URL, host: string, addresses: LookupAddress[], lookup: unknown): http.Agent {
    const key = `${url.protocol}//${host}:${url.port}|${addresses.map((a) => a.address).join(',')}`;
    let agent = this.agents.get(key);
    if (!agent) {
      if (this.agents.size >= MAX_AGENTS) {
        for (const a of this.agents.values()) a.destroy();
        this.agents.clear();
      }
      // The pool's sockets connect through the lookup of the request that created it: the same checked addresses.
      // As many idle sockets kept as may be in use: follow-ups are executed in groups, so a burst frees dozens
      // of sockets at once and needs them again a moment later; with fewer kept (16 before), every group opened
      // and closed the difference anew, 3% of a worker's CPU in connect and close at 1,000 webhooks a second.
      const options = { keepAlive: true, maxSockets: 64, maxFreeSockets: 64, timeout: 30_000, lookup: lookup as http.AgentOptions['lookup'] };
      agent = url.protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
      this.agents.set(key, agent);
    }
    return agent;
  }

  onModuleDestroy(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }

  private refused(orgId: string, reason: string): OutboundResult {
    this.logger.warn({ orgId, reason }, 'outbound request refused');
    return fail(`refused: ${reason}`);
  }
}

const fail = (error: string): OutboundResult => ({ ok: false, status: null, error });
