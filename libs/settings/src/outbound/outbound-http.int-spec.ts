import { createServer as createHttpServer } from 'node:http';
import { AddressInfo, createServer as createNetServer, Server, Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Webhook } from 'standardwebhooks';
import { startHttpSink } from '@app/testing';
import { SettingsRepository } from '../settings.repository';
import { outboundTestContext, OutboundTestContext } from './outbound-test-context';
import { OutboundHttp } from './outbound-http';

// A self-signed certificate for `sink.test` (P-256, valid to 2126): no client trusts it.
const SELF_SIGNED_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgCpyFph4Vc977Vxls
iJC4leHeBv6JeRn4j9EhnczeAtahRANCAAQj5rwrq36K5bamFB4JSXpGtLvNys4n
/MHTYftijPUrOi2a56b4/CACVM+l2v6kuFjfDIZQVpcpGePaDfkxBxKS
-----END PRIVATE KEY-----`;
const SELF_SIGNED_CERT = `-----BEGIN CERTIFICATE-----
MIIBlTCCATugAwIBAgIUQx2kRDSOhQEFnHryRdUEqYzQUcswCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJc2luay50ZXN0MCAXDTI2MTEyMjA1MzgzNFoYDzIxMjYxMDI5
MDUzODM0WjAUMRIwEAYDVQQDDAlzaW5rLnRlc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQj5rwrq36K5bamFB4JSXpGtLvNys4n/MHTYftijPUrOi2a56b4/CAC
VM+l2v6kuFjfDIZQVpcpGePaDfkxBxKSo2kwZzAdBgNVHQ4EFgQU+RIqfzvC8LF1
3FqKUyHMMaVnHeIwHwYDVR0jBBgwFoAU+RIqfzvC8LF13FqKUyHMMaVnHeIwDwYD
VR0TAQH/BAUwAwEB/zAUBgNVHREEDTALgglzaW5rLnRlc3QwCgYIKoZIzj0EAwID
SAAwRQIhAOfb9clik0Pdd/+q/E/pnv97Qqveb02AkBlMVcZ+2UJ0AiA/HvPzz2Dn
30sqjwume8r97bXoRYL7hW4SUmSZbDkhqw==
-----END CERTIFICATE-----`;

/** Listens on `host:port` (0: any port); resolves with the port. */
const listen = (server: Server, host: string, port = 0) =>
  new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/** A receiver that accepts connections and never answers; `closed` resolves when the first one is closed. */
async function startSilentReceiver() {
  let onClosed!: () => void;
  const closed = new Promise<void>((resolve) => (onClosed = resolve));
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.resume(); // read what is sent, answer nothing
    socket.on('error', () => undefined);
    socket.on('close', () => onClosed());
  });
  const port = await listen(server, '127.0.0.1');
  return {
    port,
    connections: () => sockets.size,
    closed,
    close: () => {
      for (const s of sockets) s.destroy();
      return close(server);
    },
  };
}

describe(OutboundHttp.name, () => {
  const { env, allow } = outboundTestContext('Outbound org', '127.0.0.1');
  let { ctx, sink, outbound, resolver, org } = {} as OutboundTestContext;
  beforeAll(() => ({ ctx, sink, outbound, resolver, org } = env.current));


  it('should deliver a signed JSON body that verifies with the org secret', async () => {
    const body = { event: 'follow_up.due', followUpId: 'f1', n: 1 };
    const result = await outbound.post(org.orgId, { url: `${sink.url}/hook?x=1`, messageId: 'msg_f1_1', body });
    expect(result).toEqual({ ok: true, status: 200, error: null });
    expect(sink.requests).toHaveLength(1);
    const [req] = sink.requests;
    expect(req.path).toBe('/hook?x=1');
    expect(req.body).toEqual(body);
    expect(req.headers).toMatchObject({ 'content-type': 'application/json', 'webhook-id': 'msg_f1_1' });
    expect(req.headers['webhook-signature']).toMatch(/^v1,/);
    const { signingSecret } = await ctx.app.get(SettingsRepository).ensure(org.orgId);
    const headers = {
      'webhook-id': String(req.headers['webhook-id']),
      'webhook-timestamp': String(req.headers['webhook-timestamp']),
      'webhook-signature': String(req.headers['webhook-signature']),
    };
    expect(new Webhook(signingSecret).verify(req.rawBody, headers)).toEqual(body);
    expect(() => new Webhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`).verify(req.rawBody, headers)).toThrow();
  });

  it('should reuse one connection for consecutive posts to the same receiver', async () => {
    for (const n of [1, 2, 3]) expect(await outbound.post(org.orgId, { url: sink.url, messageId: `keep_${n}`, body: { n } })).toMatchObject({ ok: true });
    expect(sink.requests.map((r) => r.body.n)).toEqual([1, 2, 3]);
    expect(new Set(sink.requests.map((r) => r.remotePort)).size).toBe(1);
  });

  it('should call a non-2xx answer a failure with its status', async () => {
    sink.respondWith(500);
    expect(await outbound.post(org.orgId, { url: sink.url, messageId: 'm', body: {} })).toEqual({ ok: false, status: 500, error: 'HTTP 500' });
    sink.respondWith(302);
    expect(await outbound.post(org.orgId, { url: sink.url, messageId: 'm', body: {} })).toMatchObject({ ok: false, status: 302 });
    // and says when the receiver asked to be asked again
    sink.respondWith(503, 0, { 'retry-after': '120' });
    expect(await outbound.post(org.orgId, { url: sink.url, messageId: 'm', body: {} })).toEqual({ ok: false, status: 503, error: 'HTTP 503', retryAfterMs: 120_000 });
  });

  it('should give up at the timeout', async () => {
    sink.respondWith(200, 2_000);
    const started = Date.now();
    const result = await outbound.post(org.orgId, { url: sink.url, messageId: 'm', body: {}, timeoutMs: 200 });
    expect(result).toEqual({ ok: false, status: null, error: 'timed out after 200 ms' });
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('should report a connection that fails', async () => {
    const closed = await startHttpSink();
    await closed.close();
    const result = await outbound.post(org.orgId, { url: closed.url, messageId: 'm', body: {} });
    expect(result).toMatchObject({ ok: false, status: null, error: expect.stringContaining('ECONNREFUSED') });
  });

  it('should refuse plain http and private addresses to hosts that are not allowed, without sending anything', async () => {
    await allow();
    const port = sink.port;
    for (const url of [
      sink.url,
      `https://127.0.0.1:${port}/`,
      `https://[::ffff:127.0.0.1]:${port}/`,
      `https://localhost:${port}/`,
      'ftp://127.0.0.1/x',
      'nope',
    ]) {
      const result = await outbound.post(org.orgId, { url, messageId: 'm', body: {} });
      expect({ url, ...result }).toMatchObject({ url, ok: false, status: null, error: expect.stringMatching(/^refused: /), permanent: true });
    }
    expect(sink.requests).toHaveLength(0);
  });

  it('should refuse a name that resolves to any non-public address, without naming the address to whoever reads the error', async () => {
    jest.spyOn(resolver, 'resolve').mockResolvedValue([
      { address: '93.184.216.34', family: 4 },
      { address: '10.0.0.7', family: 4 },
    ]);
    const result = await outbound.post(org.orgId, { url: 'https://hooks.example.test/x', messageId: 'm', body: {} });
    expect(result).toEqual({
      ok: false,
      status: null,
      error: expect.stringMatching(/^refused: hooks\.example\.test resolves to a non-public address, allowed only/),
      permanent: true,
    });
    expect(result.error).not.toContain('10.0.0.7'); // a follow-up's lastError is shown to agents: no map of the internal network
  });

  it('should connect to the address it checked, not to a second DNS answer', async () => {
    // sink.test exists in no DNS: the request can only reach the sink through the address the check returned.
    await allow('sink.test');
    const spy = jest.spyOn(resolver, 'resolve').mockResolvedValue([{ address: '127.0.0.1', family: 4 }]);
    const result = await outbound.post(org.orgId, { url: `http://sink.test:${sink.port}/dial`, messageId: 'm', body: { ok: 1 } });
    expect(result).toEqual({ ok: true, status: 200, error: null });
    expect(spy).toHaveBeenCalledTimes(1);
    expect(sink.requests[0].headers.host).toBe(`sink.test:${sink.port}`);
  });

  it('should not reuse a connection to an address that the current check did not return', async () => {
    // Two receivers for sink.test on one port: the sink on 127.0.0.1, this one on 127.0.0.2.
    await allow('sink.test');
    const other = createHttpServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    const otherRequests: string[] = [];
    other.on('request', (req) => otherRequests.push(req.url ?? ''));
    await listen(other, '127.0.0.2', sink.port);
    try {
      const url = (path: string) => `http://sink.test:${sink.port}${path}`;
      const spy = jest.spyOn(resolver, 'resolve').mockResolvedValue([{ address: '127.0.0.1', family: 4 }]);
      expect(await outbound.post(org.orgId, { url: url('/first'), messageId: 'm1', body: {} })).toEqual({ ok: true, status: 200, error: null });

      // The name now resolves elsewhere: the kept-alive connection to 127.0.0.1 must not carry this request.
      spy.mockResolvedValue([{ address: '127.0.0.2', family: 4 }]);
      expect(await outbound.post(org.orgId, { url: url('/second'), messageId: 'm2', body: {} })).toEqual({ ok: true, status: 204, error: null });
      expect(otherRequests).toEqual(['/second']);
      expect(sink.requests.map((r) => r.path)).toEqual(['/first']);

      // And back: the connection to 127.0.0.1, checked again, is reused.
      spy.mockResolvedValue([{ address: '127.0.0.1', family: 4 }]);
      expect(await outbound.post(org.orgId, { url: url('/third'), messageId: 'm3', body: {} })).toMatchObject({ ok: true });
      expect(sink.requests.map((r) => r.path)).toEqual(['/first', '/third']);
      expect(sink.requests[1].remotePort).toBe(sink.requests[0].remotePort);
      expect(otherRequests).toEqual(['/second']);
    } finally {
      other.closeAllConnections();
      await close(other);
    }
  });

  it('should time out and hang up on a receiver that accepts the connection but never answers', async () => {
    const silent = await startSilentReceiver();
    try {
      const result = await outbound.post(org.orgId, { url: `http://127.0.0.1:${silent.port}/hook`, messageId: 'm', body: {}, timeoutMs: 200 });
      expect(result).toEqual({ ok: false, status: null, error: 'timed out after 200 ms' });
      expect(silent.connections()).toBe(1);
      await silent.closed; // the request was torn down: its connection is closed, not left waiting
    } finally {
      await silent.close();
    }
  });

  it('should time out and hang up on a receiver that never answers the TLS handshake', async () => {
    const silent = await startSilentReceiver();
    try {
      const result = await outbound.post(org.orgId, { url: `https://127.0.0.1:${silent.port}/hook`, messageId: 'm', body: {}, timeoutMs: 200 });
      expect(result).toEqual({ ok: false, status: null, error: 'timed out after 200 ms' });
      await silent.closed; // the half-open connection does not outlive the request
    } finally {
      await silent.close();
    }
  });

  it('should check the certificate of an https receiver against the URL host name', async () => {
    await allow('sink.test');
    jest.spyOn(resolver, 'resolve').mockResolvedValue([{ address: '127.0.0.1', family: 4 }]);
    const serverNames: string[] = [];
    let exchanged = 0;
    // Answers HTTP 200 to anyone who completes the handshake: only a client that skipped the check would.
    const server = createTlsServer(
      {
        key: SELF_SIGNED_KEY,
        cert: SELF_SIGNED_CERT,
        SNICallback: (name, done) => {
          serverNames.push(name);
          done(null, undefined); // the certificate above
        },
      },
      (socket) => {
        exchanged++;
        socket.on('error', () => undefined);
        socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'));
      },
    );
    server.on('tlsClientError', () => undefined);
    const port = await listen(server, '127.0.0.1');
    try {
      const result = await outbound.post(org.orgId, { url: `https://sink.test:${port}/hook`, messageId: 'm', body: {} });
      // A self-signed certificate is not trusted; the name sent for it (SNI) is the URL's, not the address's.
      expect(result).toEqual({ ok: false, status: null, error: expect.stringMatching(/^request failed: /) });
      expect(exchanged).toBe(0);
      expect(serverNames).toEqual(['sink.test']);
    } finally {
      await close(server);
    }
  });

  it('should reach a loopback address over http when its host is allowed', async () => {
    await allow('localhost');
    const result = await outbound.post(org.orgId, { url: `http://localhost:${sink.port}/`, messageId: 'm', body: [1, 2] });
    expect(result).toEqual({ ok: true, status: 200, error: null });
    expect(sink.requests[0].body).toEqual([1, 2]);
  });

  it('should report a name that does not resolve', async () => {
    const result = await outbound.post(org.orgId, { url: 'https://no-such-host.invalid/x', messageId: 'm', body: {} });
    expect(result).toMatchObject({ ok: false, status: null, error: expect.stringContaining('cannot resolve no-such-host.invalid') });
  });
});
