/** Entry point of `rfw` (run through `bin/rfw.js`). */
import { run } from './program.js';

process.exitCode = await run(process.argv.slice(2));
// Everything is closed by now; should a stray handle linger, do not hang the shell.
setTimeout(() => process.exit(), 2000).unref();
