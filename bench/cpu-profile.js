// Preload (node -r): profiles the process for PROFILE_MS and writes a .cpuprofile (PROFILE_OUT). It starts after
// PROFILE_DELAY_MS, or, with PROFILE_ON_SIGNAL set, when the process gets SIGWINCH (not SIGUSR2: Nest's shutdown hooks stop the app on it) (a benchmark sends it at the
// start of the phase it wants profiled: see `profile()` in bench/server.ts).
const inspector = require('node:inspector');
const fs = require('node:fs');
const session = new inspector.Session();
session.connect();
const run = () =>
  session.post('Profiler.enable', () => session.post('Profiler.start', () => {
    setTimeout(() => session.post('Profiler.stop', (err, { profile }) => {
      fs.writeFileSync(process.env.PROFILE_OUT || '/tmp/server.cpuprofile', JSON.stringify(profile));
      process.stderr.write('profile written\n');
    }), Number(process.env.PROFILE_MS || 8000)).unref();
  }));
if (process.env.PROFILE_ON_SIGNAL) process.once('SIGWINCH', run);
else setTimeout(run, Number(process.env.PROFILE_DELAY_MS || 0)).unref();
