import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import Redis from 'ioredis';

/** A TCP port nothing listens on now (for a service to be started on, or to stand for one that is down). */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });

/**
 * A redis-server of this test's own, for tests that must do what would hurt everyone else sharing
 * the machine's Redis (FLUSHALL, another eviction policy). `port`: a given one (a Redis coming back where a service
 * expects it). `stop()` may be called more than once.
 */
export async function startPrivateRedis(args: string[] = [], options: { port?: number } = {}): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = options.port ?? (await freePort());
  const proc: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args], {
    stdio: 'ignore',
  });
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  for (let i = 0; ; i++) {
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch {
      if (i > 100) throw new Error('redis-server did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  probe.disconnect();
  return {
    url,
    stop: async () => {
      // a second stop waited for an 'exit' that had come already
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGKILL');
      await new Promise((r) => proc.once('exit', r));
    },
  };
}
