// Preload (node -r): profiles the process for PROFILE_MS after PROFILE_DELAY_MS and writes a .cpuprofile.
const inspector = require('node:inspector');
const fs = require('node:fs');
const session = new inspector.Session();
session.connect();
setTimeout(() => {
  session.post('Profiler.enable', () => session.post('Profiler.start', () => {
    setTimeout(() => session.post('Profiler.stop', (err, { profile }) => {
      fs.writeFileSync(process.env.PROFILE_OUT || '/tmp/server.cpuprofile', JSON.stringify(profile));
      process.stderr.write('profile written\n');
    }), Number(process.env.PROFILE_MS || 8000)).unref();
  }));
}, Number(process.env.PROFILE_DELAY_MS || 0)).unref();
