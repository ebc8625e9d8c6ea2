import { TestApp } from './test-app';

/**
 * A Prometheus counter (or a histogram's `_count`) from the app's GET /metrics, summed over the series whose labels
 * include `labels`; 0 when no series has been written yet.
 */
export async function scrapedMetric(t: TestApp, name: string, labels: Record<string, string> = {}): Promise<number> {
  const res = await t.http().get('/metrics');
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
  let sum = 0;
  for (const line of res.text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const seen = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => seen[k] === v)) sum += Number(m[3]);
  }
  return sum;
}
