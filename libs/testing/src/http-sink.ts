import { createServer, IncomingHttpHeaders } from 'node:http';
import { AddressInfo } from 'node:net';

export interface SinkRequest {
  readonly method: string;
  /** Path and query. */
  readonly path: string;
  /** Lower-case names, as node gives them. */
  readonly headers: IncomingHttpHeaders;
  /** The body as received, for signature checks. */
  readonly rawBody: string;
  /** The body parsed as JSON; the raw text when it is not JSON. */
  readonly body: any;
  readonly receivedAt: Date;
  /** The client's port: the same for requests that came over one kept-alive connection. */
  readonly remotePort: number | undefined;
}

export interface HttpSink {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  readonly url: string;
  readonly port: number;
  /** Every request received, in order. */
  readonly requests: SinkRequest[];
  /** How to answer the next requests (default 200 at once). */
  respondWith(status: number, delayMs?: number): void;
  close(): Promise<void>;
}

/** A local HTTP endpoint that records what it is sent: stands in for webhook receivers, diallers, SMS providers. */
export async function startHttpSink(): Promise<HttpSink> {
  const requests: SinkRequest[] = [];
  let answer = { status: 200, delayMs: 0 };
  const timers = new Set<NodeJS.Timeout>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let body: unknown = rawBody;
      try {
        body = rawBody ? JSON.parse(rawBody) : null;
      } catch {
        // not JSON: keep the text
      }
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, rawBody, body, receivedAt: new Date(), remotePort: req.socket.remotePort });
      const { status, delayMs } = answer;
      const reply = () => {
        if (res.destroyed) return;
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ status }));
      };
      if (delayMs <= 0) return reply();
      const timer = setTimeout(() => {
        timers.delete(timer);
        reply();
      }, delayMs);
      timers.add(timer);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    respondWith(status, delayMs = 0) {
      answer = { status, delayMs };
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
