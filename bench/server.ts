import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');

export const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });

/** As package.json's start scripts and docker/Dockerfile's NODE_OPTIONS. */
const SERVICE_NODE_FLAGS = '--max-semi-space-size=64';

let built = false;
/**
 * The compiled service, as `npm start` runs it: built once per benchmark run, so the figures are those of what
 * users run. (Through ts-node the service also loads Node's `repl` and with it `domain`, which wraps every
 * EventEmitter emit: about 1% of the service's CPU by self time in a bench:worker profile, and no difference
 * bench:http could tell from the noise in four alternating runs.) BENCH_TS=1 runs the sources through ts-node
 * (transpile-only) instead, to try a change without building.
 */
function compiled(entry: string): string[] {
  if (process.env.BENCH_TS) return ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', join(ROOT, entry)];
  if (!built && !process.env.BENCH_NO_BUILD) {
    execFileSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
    built = true;
  }
  return [join(ROOT, 'dist', entry.replace(/\.ts$/, '.js'))];
}

/** Runs an entry point of the repo (`apps/…/main.ts`) as its own process (its own core). */
export function spawnEntry(entry: string, args: string[], env: Record<string, string>): ChildProcess {
  const profile = [
    ...(process.env.BENCH_PROFILE ? ['-r', join(ROOT, process.env.BENCH_PROFILE === 'heap' ? 'bench/heap-profile.js' : 'bench/cpu-profile.js')] : []),
    ...(process.env.BENCH_LOOP_DELAY ? ['-r', join(ROOT, 'bench/loop-delay.js')] : []),
  ];
  // The flags `npm start` and the image run the service with; BENCH_SERVICE_NODE_FLAGS replaces them (say with
  // --max-semi-space-size=16 for V8's default), for the service only, not the load generator.
  const flags = (process.env.BENCH_SERVICE_NODE_FLAGS ?? SERVICE_NODE_FLAGS).split(' ').filter(Boolean);
  return spawn(process.execPath, [...flags, ...profile, ...compiled(entry), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env, TS_NODE_PROJECT: join(ROOT, 'tsconfig.json') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

export async function runJson(entry: string, args: string[], env: Record<string, string>): Promise<any> {
  const child = spawnEntry(entry, args, env);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const code = await new Promise((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`${entry} ${args.join(' ')} exited with ${code}`);
  return JSON.parse(out.trim().split('\n').pop()!);
}

/**
 * The service in a child process (by default the whole of it: API, workers, projections; `['--api-only']` for
 * the API role alone; entry `apps/worker/src/main.ts` for a worker process); resolves once /health/ready
 * answers (it may first migrate a large database: up to 2 minutes). The child is killed on any exit of this
 * process, Ctrl-C included.
 */
export async function startServer(
  env: Record<string, string>,
  args: string[] = [],
  entry = 'apps/api/src/main.ts',
): Promise<{ url: URL; pid: number; stop: () => Promise<void>; profile: () => void }> {
  const port = await freePort();
  // The rate limit stays on (its Redis round trip a request is part of what is measured) with room for the benchmark's
  // whole traffic, which comes from one key (RATE_LIMIT_REQUESTS=0 in the environment measures without it).
  const child = spawnEntry(entry, args, { LOG_LEVEL: 'warn', RATE_LIMIT_REQUESTS: process.env.RATE_LIMIT_REQUESTS ?? '100000000', ...env, PORT: String(port) });
  let exited = false;
  const kill = () => {
    if (!exited) child.kill('SIGTERM');
  };
  const signals = ['exit', 'SIGINT', 'SIGTERM'] as const;
  child.once('exit', () => (exited = true));
  for (const s of signals) process.on(s, kill);
  const url = new URL(`http://127.0.0.1:${port}`);
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(new URL('/health/ready', url))).status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (exited || i > 1200) {
      kill();
      throw new Error('server did not become ready');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    pid: child.pid!,
    /** Starts the CPU profile of bench/cpu-profile.js (BENCH_PROFILE=1 PROFILE_ON_SIGNAL=<phase>), or the allocation profile of bench/heap-profile.js (BENCH_PROFILE=heap). */
    profile: () => void child.kill('SIGWINCH'),
    stop: async () => {
      for (const s of signals) process.off(s, kill);
      if (exited) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    },
  };
}

/** A histogram's sum and count from the service's /metrics, over the series whose labels contain `labels`. */
export async function histogram(url: URL, name: string, labels = ''): Promise<{ sum: number; count: number }> {
  const lines = (await (await fetch(new URL('/metrics', url))).text()).split('\n');
  const read = (series: string) =>
    lines
      .filter((l) => (l.startsWith(`${series} `) || l.startsWith(`${series}{`)) && l.includes(labels))
      .reduce((total, l) => total + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  return { sum: read(`${name}_sum`), count: read(`${name}_count`) };
}
