import { timing, todayIn } from '@app/hub';
const now = new Date();
const dates = Array.from({ length: 200 }, (_, i) => new Date(now.getTime() - i * 3_600_000));
for (const tz of ['UTC', 'Europe/London', 'America/New_York']) {
  for (let w = 0; w < 50; w++) for (const d of dates) timing(d, tz, now);
  const t0 = process.hrtime.bigint();
  const N = 200;
  for (let r = 0; r < N; r++) { todayIn(tz, now); for (const d of dates) timing(d, tz, now); }
  console.log(tz, 'ms per 200 rows:', (Number(process.hrtime.bigint() - t0) / 1e6 / N).toFixed(3));
}
