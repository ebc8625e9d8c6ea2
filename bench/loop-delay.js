// Preload (node -r): reports the event loop's delay (how long a ready callback waited) every LOOP_DELAY_MS.
// A hub GET that lands while a dialler batch holds the loop waits that long: this shows the longest holds.
const { monitorEventLoopDelay } = require('node:perf_hooks');
const h = monitorEventLoopDelay({ resolution: 5 });
h.enable();
setInterval(() => {
  const ms = (v) => (v / 1e6).toFixed(1);
  process.stderr.write(`loop delay ms: p50 ${ms(h.percentile(50))} p99 ${ms(h.percentile(99))} max ${ms(h.max)}\n`);
  h.reset();
}, Number(process.env.LOOP_DELAY_MS || 5000)).unref();
