/**
 * @rfw/cli: the `rfw` command-line client, also callable in-process.
 *
 * @example
 * ```ts
 * import { run } from '@rfw/cli';
 * const code = await run(['jobs', 'list', '--status', 'dead', '--json']);
 * ```
 */
export { run, VERSION } from './program.js';
export type { Registrar, LeafOptions } from './program.js';
export type { RunIo, CommandContext } from './context.js';
export { ExitCode, UsageError, OperationFailedError, UnreachableError } from './errors.js';
export {
  resolveTarget,
  findRepoRoot,
  findRuntimeFile,
  readRuntimeFile,
  RuntimeInfo,
  DEFAULT_SERVER,
  DEFAULT_PREFIX,
} from './config.js';
export type { Target, TargetInput, Source } from './config.js';
export { HEALING_TYPE, RESYNC_TYPE, healPayload } from './commands/sweep.js';
export type { HealPayload, ResyncPayload } from './commands/sweep.js';
export type { SearchRequest } from '@rfw/storage-jobs';
export type { LeaderView } from './commands/nodes.js';
