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
  /** Answers the request now, if it has not been answered (a held one waits for this). */
  release(status: number): void;
  readonly released: boolean;
}

export interface HttpSink {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  readonly url: string;
  readonly port: number;
  /** Every request received, in order. */
  readonly requests: SinkRequest[];
  /** How to answer the next requests (default 200 at once), with these headers too. Ends hold(). */
  respondWith(status: number, delayMs?: number, headers?: Record<string, string>): void;
  /** Holds the next requests open until the test calls their release(), so it can act while a delivery is in flight. */
  hold(): void;
  close(): Promise<void>;
}

/** A local HTTP endpoint that records what it is sent: stands in for webhook receivers, diallers, SMS providers. */
export async function startHttpSink(): Promise<HttpSink> {
  const requests: SinkRequest[] = [];
  let answer: { status: number; delayMs: number; hold: boolean; headers?: Record<string, string> } = { status: 200, delayMs: 0, hold: false };
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
      let released = false;
      const headers = answer.headers ?? {};
      const release = (status: number) => {
        if (released) return;
        released = true;
        if (!res.destroyed) res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify({ status }));
      };
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        rawBody,
        body,
        receivedAt: new Date(),
        remotePort: req.socket.remotePort,
        release,
        get released() {
          return released;
        },
      });
      const { status, delayMs, hold } = answer;
      if (hold) return;
      if (delayMs <= 0) return release(status);
      const timer = setTimeout(() => {
        timers.delete(timer);
        release(status);
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
    respondWith(status, delayMs = 0, headers) {
      answer = { status, delayMs, hold: false, headers };
    },
    hold() {
      answer = { ...answer, hold: true };
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      for (const r of requests) r.release(503);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Receivers a suite opens as its tests need them, all closed at once when it ends (`closeAll` in its afterAll). */
export function sinkPool(): { open(): Promise<HttpSink>; closeAll(): Promise<void> } {
  const sinks: HttpSink[] = [];
  return {
    async open() {
      const s = await startHttpSink();
      sinks.push(s);
      return s;
    },
    async closeAll() {
      for (const s of sinks.splice(0)) await s.close();
    },
  };
}
