/**
 * Preloaded into a service with `--import` (NODE_OPTIONS refuses `--cpu-prof`):
 * profiles the whole process and writes a `.cpuprofile` into
 * `RFW_CPU_PROFILE_DIR` when it exits.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';

const dir = process.env.RFW_CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  process.once('exit', () => {
    // Posts on a session of the same thread complete synchronously, so this works in 'exit'.
    session.post('Profiler.stop', (err, res) => {
      if (err) return;
      const name = `${process.env.WORKER_ID ?? 'service'}-${process.pid}.cpuprofile`;
      writeFileSync(path.join(dir, name), JSON.stringify(res.profile));
    });
  });
}
