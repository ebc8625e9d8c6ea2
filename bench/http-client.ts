import http from 'node:http';

/** A minimal keep-alive JSON client: lower per-request overhead than fetch, so the load generator is not the bottleneck. */
export class JsonClient {
  private readonly agent: http.Agent;

  constructor(
    private readonly base: URL,
    private readonly key: string,
    sockets: number,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  }

  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    return this.send(method, path, body).then(({ status, body: raw }) => {
      const text = raw.toString('utf8');
      return { status, body: text ? JSON.parse(text) : null };
    });
  }

  /** A GET whose body is read but not parsed, so the client does not weigh on a read benchmark's figure. */
  getRaw(path: string): Promise<{ status: number; body: Buffer }> {
    return this.send('GET', path);
  }

  private send(method: string, path: string, body?: unknown): Promise<{ status: number; body: Buffer }> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          agent: this.agent,
          host: this.base.hostname,
          port: this.base.port,
          method,
          path,
          headers: {
            authorization: `Bearer ${this.key}`,
            ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      if (payload) req.write(payload);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
