/** Entry point of `rfw` (run through `bin/rfw.js`). */
import { run } from './program.js';

process.exitCode = await run(process.argv.slice(2));
