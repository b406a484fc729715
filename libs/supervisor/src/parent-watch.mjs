// Preloaded (node --import) into every service that npm start runs. The
// supervisor gives each child a stdin pipe it never writes to: when the
// supervisor dies, even by SIGKILL, the pipe closes and the service stops as
// it would on SIGTERM, so no service outlives its supervisor.
if (process.env.RFW_SUPERVISED === '1' && !process.stdin.isTTY) {
  const stop = () => process.kill(process.pid, 'SIGTERM');
  process.stdin.once('end', stop);
  process.stdin.once('error', stop);
  process.stdin.resume();
  // Watching must not keep a service alive that has finished its work.
  if (typeof process.stdin.unref === 'function') process.stdin.unref();
}
