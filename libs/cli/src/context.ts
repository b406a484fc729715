/** What every command action receives. */
import type { Readable } from 'node:stream';
import type { Target } from './config.js';
import type { Output, OutputStreams } from './output.js';
import type { Session } from './session.js';

export interface RunIo extends OutputStreams {
  stdin: Readable;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface CommandContext {
  readonly out: Output;
  readonly io: RunIo;
  /** Where to connect; resolved on first use. */
  target(): Target;
  /** The connection and queue; opened on first use. */
  session(): Session;
  /** Aborted on SIGINT/SIGTERM, for commands that run until stopped. */
  readonly signal: AbortSignal;
}

/** An action returns its exit code (0 when it returns nothing) or throws. */
export type Action<O> = (ctx: CommandContext, opts: O, args: string[]) => Promise<number | void>;
