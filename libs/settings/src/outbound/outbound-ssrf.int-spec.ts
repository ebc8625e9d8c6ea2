import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { CommandBus } from '@nestjs/cqrs';
import type { LookupAddress } from 'node:dns';
import { createServer as createHttpServer, Server as HttpServer } from 'node:http';
import { AddressInfo, createServer as createNetServer, Server, Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { Clock } from '@app/shared';
import { HttpSink, startHttpSink } from '@app/testing';
import { OrgSettingsWithSecret } from '../domain/settings';
import { RotateSigningSecretCommand } from '../rotate-signing-secret/rotate-signing-secret.command';
import { SettingsRepository } from '../settings.repository';
import { HostResolver } from './host-resolver';
import { outboundTestContext, OutboundTestContext } from './outbound-test-context';
import { mayPassOnRetry, OutboundHttp, OutboundResult } from './outbound-http';

/**
 * The SSRF guard and the signature where a request is actually sent (OutboundHttp), against local receivers on
 * 127.0.0.1. DNS is stood in for by HostResolver (nothing here resolves on the internet): a name's answer is what
 * the test says, and may change between two requests (rebinding).
 */

const listen = (server: Server, host = '127.0.0.1') =>
  new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve((server.address() as AddressInfo).port));
  });
const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/** A raw TCP receiver that runs `onConnection` per connection; `closed` resolves when the first connection closes. */
async function startRawReceiver(onConnection: (socket: Socket) => void) {
  let onClosed!: () => void;
  const closed = new Promise<void>((resolve) => (onClosed = resolve));
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => onClosed());
    onConnection(socket);
  });
  const port = await listen(server);
  return {
    port,
    closed,
    connections: () => sockets.size,
    close: () => {
      for (const s of sockets) s.destroy();
      return close(server);
    },
  };
}

/** Once the request's headers have arrived, runs `answer` (the request body is read and ignored). */
const onRequest = (answer: (socket: Socket) => void) => (socket: Socket) => {
  let head = '';
  const onData = (chunk: Buffer) => {
    head += chunk.toString('latin1');
    if (!head.includes('\r\n\r\n')) return;
    socket.off('data', onData);
    socket.resume();
    answer(socket);
  };
  socket.on('data', onData);
};

/** Every `everyMs`, writes what `next` gives, until the connection closes. */
const dribble = (socket: Socket, everyMs: number, next: () => string) => {
  const timer = setInterval(() => (socket.destroyed ? clearInterval(timer) : socket.write(next())), everyMs);
  socket.on('close', () => clearInterval(timer));
};

/** Writes `chunk` over and over, as fast as the client reads it, until the connection closes. */
const flood = (socket: Socket, chunk: Buffer) => {
  const pump = () => {
    while (!socket.destroyed && socket.write(chunk));
  };
  socket.on('drain', pump);
  pump();
};

describe('OutboundHttp SSRF guard', () => {
  const { env, allow } = outboundTestContext('SSRF org', 'sink.test');
  let { ctx, sink, outbound, resolver, org, admin } = {} as OutboundTestContext;
  beforeAll(() => ({ ctx, sink, outbound, resolver, org, admin } = env.current));
  const post = (url: string, extra: { timeoutMs?: number; body?: unknown } = {}) =>
    outbound.post(org.orgId, { url, messageId: 'msg_ssrf', body: extra.body ?? { type: 'follow_up.due' }, timeoutMs: extra.timeoutMs });
  /** DNS as the test says: `answer(host)` for names, the real thing (the literal itself) for IP addresses. */
  const dns = (answer: (host: string) => LookupAddress[] | Promise<LookupAddress[]>) => {
    const real = HostResolver.prototype.resolve;
    return jest.spyOn(resolver, 'resolve').mockImplementation(async (host) => (/^[0-9.]+$|:/.test(host) ? real.call(resolver, host) : answer(host)));
  };
  const v4 = (address: string): LookupAddress => ({ address, family: 4 });
  const v6 = (address: string): LookupAddress => ({ address, family: 6 });


  describe('addresses written in the URL', () => {
    it('should refuse every spelling of a loopback or private address, sending nothing', async () => {
      const p = sink.port;
      const urls = [
        `http://127.0.0.1:${p}/`,
        `http://127.1:${p}/`,
        `http://0x7f.0.0.1:${p}/`,
        `http://0177.0.0.1:${p}/`,
        `http://2130706433:${p}/`,
        `http://017700000001:${p}/`,
        `http://127.0.0.1.:${p}/`,
        `http://%31%32%37.0.0.1:${p}/`,
        `http://0.0.0.0:${p}/`,
        `http://0:${p}/`,
        `http://[::ffff:127.0.0.1]:${p}/`,
        `http://[::ffff:7f00:1]:${p}/`,
        `http://localhost:${p}/`,
        `http://LOCALHOST.:${p}/`,
        `http://sink.localhost:${p}/`,
        // the allowed name before an @ is user info: the host is 127.0.0.1, which is not allowed
        `http://sink.test@127.0.0.1:${p}/`,
        `http://sink.test:${p}@127.0.0.1:${p}/`,
        `https://127.0.0.1:${p}/`,
        `https://[::1]:${p}/`,
        `https://169.254.169.254/latest/meta-data/`,
        `https://[::ffff:a9fe:a9fe]/latest/meta-data/`,
        `https://[64:ff9b::a9fe:a9fe]/`,
        `https://[2002:a9fe:a9fe::1]/`,
      ];
      for (const url of urls) {
        expect({ url, ...(await post(url)) }).toEqual({ url, ok: false, status: null, error: expect.stringMatching(/^refused: url /), permanent: true });
      }
      expect(sink.requests).toHaveLength(0);
    });

    it('should refuse a URL with credentials, even to an allowed host', async () => {
      await allow('127.0.0.1');
      const result = await post(`http://user:s3cret@127.0.0.1:${sink.port}/`);
      expect(result).toEqual({ ok: false, status: null, error: expect.stringMatching(/^refused: url must not contain a user name or password/), permanent: true });
      expect(result.error).not.toContain('s3cret');
      expect(sink.requests).toHaveLength(0);
    });
  });

  describe('names that resolve to a non-public address', () => {
    it.each([
      [[v4('127.0.0.1')]],
      [[v4('127.0.0.2')]],
      [[v4('0.0.0.0')]],
      [[v4('10.0.0.7')]],
      [[v4('100.64.0.1')]],
      [[v4('169.254.169.254')]],
      [[v4('172.16.0.1')]],
      [[v4('192.0.0.1')]],
      [[v4('192.168.0.1')]],
      [[v4('198.18.0.1')]],
      [[v4('224.0.0.1')]],
      [[v4('255.255.255.255')]],
      [[v6('::1')]],
      [[v6('::')]],
      [[v6('::ffff:127.0.0.1')]],
      [[v6('::ffff:7f00:1')]],
      [[v6('::127.0.0.1')]],
      [[v6('64:ff9b::a9fe:a9fe')]],
      [[v6('2002:a00:1::1')]],
      [[v6('2001:0:4136:e378:8000:63bf:3fff:fdd2')]],
      [[v6('fd00::1')]],
      [[v6('fe80::1')]],
      [[v6('ff02::1')]],
      [[v4('93.184.216.34'), v4('127.0.0.1')]],
      [[v6('2606:4700:4700::1111'), v6('::ffff:10.0.0.1')]],
    ])('should refuse a name that resolves to %j, sending nothing', async (answer) => {
      dns(() => answer);
      const result = await post(`https://hooks.example.com:${sink.port}/hook`);
      expect(result).toEqual({ ok: false, status: null, error: expect.stringMatching(/^refused: hooks\.example\.com resolves to a non-public address/), permanent: true });
      expect(sink.requests).toHaveLength(0);
    });

    it('should check the DNS answer of every request, so a name that rebinds to loopback is refused', async () => {
      // First a public address (there is no internet here: that request fails to connect), then the sink's.
      const spy = dns(() => [v4('93.184.216.34')]);
      const first = await post(`https://rebind.example.com:${sink.port}/`, { timeoutMs: 500 });
      expect(first.error).not.toMatch(/^refused/);
      spy.mockImplementation(async () => [v4('127.0.0.1')]);
      const second = await post(`https://rebind.example.com:${sink.port}/`);
      expect(second).toEqual({ ok: false, status: null, error: expect.stringMatching(/^refused: rebind\.example\.com resolves to a non-public address, allowed only/), permanent: true });
      expect(spy).toHaveBeenCalledTimes(2);
      expect(sink.requests).toHaveLength(0);
    });

    it('should give up at the timeout when DNS does not answer', async () => {
      dns(() => new Promise<LookupAddress[]>(() => undefined));
      const result = await post('https://slow-dns.example.com/hook', { timeoutMs: 200 });
      expect(result).toEqual({ ok: false, status: null, error: 'timed out after 200 ms' });
    });
  });

  describe('allowHttpHosts', () => {
    it('should reach an allowed name at a loopback address, whatever the case or trailing dot of the URL', async () => {
      dns(() => [v4('127.0.0.1')]);
      for (const url of [`http://sink.test:${sink.port}/a`, `http://SINK.Test.:${sink.port}/b`]) {
        expect(await post(url)).toEqual({ ok: true, status: 200, error: null });
      }
      expect(sink.requests.map((r) => r.path)).toEqual(['/a', '/b']);
    });

    it('should not extend to names that merely contain the allowed one', async () => {
      dns(() => [v4('127.0.0.1')]);
      for (const host of ['evilsink.test', 'sink.test.evil.com', 'sub.sink.test', 'sink.test-evil.com']) {
        for (const scheme of ['http', 'https']) {
          const url = `${scheme}://${host}:${sink.port}/`;
          expect({ url, ...(await post(url)) }).toEqual({ url, ok: false, status: null, error: expect.stringMatching(/^refused: /), permanent: true });
        }
      }
      expect(sink.requests).toHaveLength(0);
    });

    it('should refuse a listed host that resolves to a link-local (cloud metadata) address, which the default networks leave out', async () => {
      for (const answer of [v4('169.254.169.254'), v6('::ffff:a9fe:a9fe'), v6('fe80::1')]) {
        dns(() => [answer]);
        expect({ answer, ...(await post(`http://sink.test:${sink.port}/meta`)) }).toEqual({
          answer,
          ok: false,
          status: null,
          error: 'refused: sink.test resolves to an address outside the networks this service may reach (OUTBOUND_PRIVATE_NETWORKS)',
          permanent: true,
        });
      }
      expect(sink.requests).toHaveLength(0);
    });

    it("should open to a listed host only the operator's OUTBOUND_PRIVATE_NETWORKS, public addresses aside", async () => {
      const config = { get: () => '10.9.0.0/16, fd00:9::/32' } as unknown as ConfigService;
      const narrowed = new OutboundHttp(ctx.app.get(SettingsRepository), resolver, config, ctx.app.get(Clock));
      await allow('sink.test', '127.0.0.1');
      dns(() => [v4('127.0.0.1')]);
      // the service's own loopback (its Redis, its database), listed by the org's admin: refused
      expect(await narrowed.post(org.orgId, { url: `http://sink.test:${sink.port}/own`, messageId: 'm1', body: {} })).toMatchObject({
        ok: false,
        error: expect.stringContaining('outside the networks this service may reach'),
      });
      expect(await narrowed.post(org.orgId, { url: `http://127.0.0.1:${sink.port}/literal`, messageId: 'm2', body: {} })).toMatchObject({ ok: false });
      expect(sink.requests).toHaveLength(0);
      // the same request through the default networks goes (SPEC §7: a listed host may be private or loopback)
      expect(await post(`http://sink.test:${sink.port}/default`)).toMatchObject({ ok: true, status: 200 });
      expect(() => new OutboundHttp(ctx.app.get(SettingsRepository), resolver, { get: () => '10.0.0.0/33' } as unknown as ConfigService, ctx.app.get(Clock))).toThrow(/10\.0\.0\.0\/33/);
    });

    it('should allow a private address only to the listed host, not to another name that resolves to it', async () => {
      await allow('127.0.0.1');
      dns(() => [v4('127.0.0.1')]);
      expect(await post(`http://127.0.0.1:${sink.port}/direct`)).toMatchObject({ ok: true, status: 200 });
      const viaName = await post(`https://other.example.com:${sink.port}/via-name`);
      expect(viaName).toEqual({ ok: false, status: null, error: expect.stringMatching(/^refused: other\.example\.com resolves to a non-public address/), permanent: true });
      expect(sink.requests.map((r) => r.path)).toEqual(['/direct']);
    });
  });

  describe('names that do not resolve', () => {
    const failing = (code: string) => dns(() => Promise.reject(Object.assign(new Error(`getaddrinfo ${code} hooks.example.com`), { code })));

    it('should say a name that does not exist will not pass if sent again soon, and one a name server failed to answer may', async () => {
      failing('ENOTFOUND');
      const missing = await post('https://hooks.example.com/x');
      expect(missing).toEqual({ ok: false, status: null, error: 'cannot resolve hooks.example.com: ENOTFOUND', permanent: true });
      expect(mayPassOnRetry(missing)).toBe(false);
      failing('EAI_AGAIN');
      const unanswered = await post('https://hooks.example.com/x');
      expect(unanswered).toEqual({ ok: false, status: null, error: 'cannot resolve hooks.example.com: EAI_AGAIN' });
      expect(mayPassOnRetry(unanswered)).toBe(true);
    });
  });

  describe('answers', () => {
    it.each([301, 302, 303, 307, 308])('should not follow a %i redirect to a private address', async (status) => {
      await allow('127.0.0.1');
      const target = await startHttpSink();
      const redirector = createHttpServer((req, res) => {
        req.resume();
        req.on('end', () => res.writeHead(status, { location: `${target.url}/latest/meta-data/` }).end());
      });
      const port = await listen(redirector as unknown as Server);
      try {
        expect(await post(`http://127.0.0.1:${port}/hook`)).toEqual({ ok: false, status, error: `HTTP ${status}` });
        expect(target.requests).toHaveLength(0);
      } finally {
        (redirector as HttpServer).closeAllConnections();
        await close(redirector as unknown as Server);
        await target.close();
      }
    });

    it.each([
      [200, { ok: true, status: 200, error: null }],
      [500, { ok: false, status: 500, error: 'HTTP 500' }],
    ])('should judge a %i answer with an endless body by its status, and hang up instead of reading on', async (status, expected) => {
      await allow('127.0.0.1');
      const receiver = await startRawReceiver(
        onRequest((socket) => {
          socket.write(`HTTP/1.1 ${status} X\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n`);
          const data = 'x'.repeat(64 * 1024);
          flood(socket, Buffer.from(`${data.length.toString(16)}\r\n${data}\r\n`));
        }),
      );
      try {
        // Read to its end, this answer would hold the request until its timeout and call it failed.
        expect(await post(`http://127.0.0.1:${receiver.port}/hook`, { timeoutMs: 3_000 })).toEqual(expected);
        await receiver.closed;
      } finally {
        await receiver.close();
      }
    });

    it('should hang up at the timeout on a receiver that dribbles its headers', async () => {
      await allow('127.0.0.1');
      const receiver = await startRawReceiver(
        onRequest((socket) => {
          socket.write('HTTP/1.1 200 OK\r\n');
          dribble(socket, 20, () => 'x-slow: y\r\n');
        }),
      );
      try {
        expect(await post(`http://127.0.0.1:${receiver.port}/hook`, { timeoutMs: 300 })).toEqual({ ok: false, status: null, error: 'timed out after 300 ms' });
        await receiver.closed;
      } finally {
        await receiver.close();
      }
    });

    it('should hang up at the timeout on a receiver that dribbles a 2xx body', async () => {
      await allow('127.0.0.1');
      const receiver = await startRawReceiver(
        onRequest((socket) => {
          socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n');
          dribble(socket, 20, () => '1\r\nx\r\n');
        }),
      );
      try {
        expect(await post(`http://127.0.0.1:${receiver.port}/hook`, { timeoutMs: 300 })).toEqual({ ok: false, status: null, error: 'timed out after 300 ms' });
        await receiver.closed;
      } finally {
        await receiver.close();
      }
    });

    it("should not cut short another request's delivery when many new destinations are used", async () => {
      // One org sending to a thousand names (a wildcard domain) must not abort what is being sent elsewhere.
      await allow('127.0.0.1', 'sink.test');
      const gone = await startHttpSink();
      const goneUrl = `http://sink.test:${gone.port}/`;
      await gone.close(); // nothing listens there now: each of those requests fails at once
      let n = 0;
      dns(() => [v4('127.0.0.1'), v4(`127.1.${n >> 8}.${n++ & 0xff}`)]);
      sink.hold();
      const inFlight = post(`http://127.0.0.1:${sink.port}/slow`);
      while (sink.requests.length === 0) await new Promise((r) => setTimeout(r, 10));
      for (let i = 0; i < 1_050; i += 50) {
        await Promise.all(Array.from({ length: 50 }, () => post(goneUrl)));
      }
      sink.requests[0].release(200);
      expect(await inFlight).toEqual({ ok: true, status: 200, error: null });
    }, 60_000);
  });

  describe('the signature', () => {
    const secretOf = async () => (await ctx.app.get(SettingsRepository).ensure(org.orgId)) as OrgSettingsWithSecret;
    const headersOf = (req: HttpSink['requests'][number]) => ({
      'webhook-id': String(req.headers['webhook-id']),
      'webhook-timestamp': String(req.headers['webhook-timestamp']),
      'webhook-signature': String(req.headers['webhook-signature']),
    });

    it('should be accepted by a Standard Webhooks receiver with the org secret, and by no other', async () => {
      await allow('127.0.0.1');
      const body = { type: 'sms.send', to: '+441234567890', message: 'héllo "quoted" \u2028' };
      const before = Math.floor(Date.now() / 1000);
      expect(await outbound.post(org.orgId, { url: `${sink.url}/sms`, messageId: 'fu1.1.1', body })).toEqual({ ok: true, status: 200, error: null });
      const [req] = sink.requests;
      const headers = headersOf(req);
      expect(headers['webhook-id']).toBe('fu1.1.1');
      expect(Number(headers['webhook-timestamp'])).toBeGreaterThanOrEqual(before);
      expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);

      const { signingSecret } = await secretOf();
      expect(new Webhook(signingSecret).verify(req.rawBody, headers)).toEqual(body);
      expect(() => new Webhook(`whsec_${Buffer.alloc(32, 1).toString('base64')}`).verify(req.rawBody, headers)).toThrow();
      expect(() => new Webhook(signingSecret).verify(req.rawBody.replace('hello', 'hellO').replace('+44', '+45'), headers)).toThrow();
      expect(() => new Webhook(signingSecret).verify(req.rawBody, { ...headers, 'webhook-id': 'fu1.1.2' })).toThrow();
    });

    it('should sign with the new secret alone at once after a rotation with no overlap', async () => {
      await allow('127.0.0.1');
      const old = (await secretOf()).signingSecret;
      await outbound.post(org.orgId, { url: sink.url, messageId: 'before', body: { n: 1 } });
      await ctx.app.get(CommandBus).execute(new RotateSigningSecretCommand(admin, 0));
      const rotated = (await secretOf()).signingSecret;
      expect(rotated).not.toBe(old);
      await outbound.post(org.orgId, { url: sink.url, messageId: 'after', body: { n: 2 } });
      const after = sink.requests[1];
      expect(headersOf(after)['webhook-signature']).toMatch(/^v1,[^ ]+$/);
      expect(new Webhook(rotated).verify(after.rawBody, headersOf(after))).toEqual({ n: 2 });
      expect(() => new Webhook(old).verify(after.rawBody, headersOf(after))).toThrow();
    });

    it('should sign with both secrets during the overlap, and stop using the old one when it ends, even from cached settings', async () => {
      await allow('127.0.0.1');
      const clock = ctx.app.get(Clock);
      const old = (await secretOf()).signingSecret;
      await ctx.app.get(CommandBus).execute(new RotateSigningSecretCommand(admin, 3_600));
      const rotated = (await secretOf()).signingSecret;
      try {
        await outbound.post(org.orgId, { url: sink.url, messageId: 'during', body: { n: 1 } });
        // The overlap ends a moment after the first post: the second is signed from the same cached settings
        // (ensureCached keeps them for a second), and must read the end against the clock, not take the cached view.
        const end = Date.now() + 3_600_000;
        clock.now = () => new Date(end);
        await outbound.post(org.orgId, { url: sink.url, messageId: 'after', body: { n: 2 } });
      } finally {
        delete (clock as Partial<Clock>).now; // the prototype's again
      }
      const [during, after] = sink.requests;
      expect(headersOf(during)['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=* v1,[A-Za-z0-9+/]+=*$/);
      expect(new Webhook(rotated).verify(during.rawBody, headersOf(during))).toEqual({ n: 1 });
      expect(new Webhook(old).verify(during.rawBody, headersOf(during))).toEqual({ n: 1 });
      expect(headersOf(after)['webhook-signature']).toMatch(/^v1,[^ ]+$/);
      expect(new Webhook(rotated).verify(after.rawBody, headersOf(after))).toEqual({ n: 2 });
      expect(() => new Webhook(old).verify(after.rawBody, headersOf(after))).toThrow();
    });

    it('should never put the secret in the request, an error or a log line', async () => {
      const logged: unknown[] = [];
      for (const level of ['log', 'warn', 'error', 'debug', 'verbose', 'fatal'] as const) {
        jest.spyOn(Logger.prototype, level).mockImplementation((...args: unknown[]) => void logged.push(args));
      }
      await allow('127.0.0.1');
      const { signingSecret } = await secretOf();
      const results: OutboundResult[] = [];
      results.push(await post(`${sink.url}/ok`));
      sink.respondWith(500);
      results.push(await post(`${sink.url}/err`));
      sink.hold();
      results.push(await post(`${sink.url}/slow`, { timeoutMs: 100 }));
      results.push(await post(`https://127.0.0.1:${sink.port}/tls`)); // TLS to a plain-http receiver
      results.push(await post('https://10.0.0.1/private'));
      results.push(await post('http://user:pw@10.0.0.1/private'));
      results.push(await post('https://no-such-host.invalid/'));
      results.push(await post('not a url'));
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      const key = signingSecret.slice('whsec_'.length);
      const keyBytes = Buffer.from(key, 'base64');
      for (const secretForm of [signingSecret, key, keyBytes.toString('hex'), keyBytes.toString('base64url')]) {
        for (const req of sink.requests) expect(JSON.stringify({ headers: req.headers, body: req.rawBody })).not.toContain(secretForm);
        expect(JSON.stringify(results)).not.toContain(secretForm);
        expect(JSON.stringify(logged)).not.toContain(secretForm);
      }
      expect(sink.requests.map((r) => r.path)).toEqual(['/ok', '/err', '/slow']);
    });
  });
});
