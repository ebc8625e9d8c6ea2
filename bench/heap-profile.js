// Preload (node -r), BENCH_PROFILE=heap: samples what the process allocates, collected or not (V8's sampling heap
// profiler with the objects minor and major GCs collected kept in), for PROFILE_MS from when the process gets SIGWINCH
// (PROFILE_ON_SIGNAL=<phase>, as bench/cpu-profile.js), and writes it to PROFILE_OUT (.heapprofile: Chrome DevTools
// opens it). Where the garbage collector's share of a CPU profile comes from.
const inspector = require('node:inspector');
const fs = require('node:fs');
const session = new inspector.Session();
session.connect();
process.once('SIGWINCH', () =>
  session.post('HeapProfiler.enable', () =>
    session.post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }, () => {
      setTimeout(
        () =>
          session.post('HeapProfiler.stopSampling', (err, { profile }) => {
            fs.writeFileSync(process.env.PROFILE_OUT || '/tmp/server.heapprofile', JSON.stringify(profile));
            process.stderr.write('heap profile written\n');
          }),
        Number(process.env.PROFILE_MS || 8000),
      ).unref();
    }),
  ),
);
