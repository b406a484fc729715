/** The `isolation` option of a worker type, and its checked form. */
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError } from '@rfw/core/internal';

/** Where an isolated handler runs: a worker thread, or a child process (`fork`). */
export type IsolationMode = 'thread' | 'process';

/**
 * Run a worker type's handler outside the worker's event loop, one thread or
 * process per attempt, ended at its timeout plus `timeoutGraceMs`.
 */
export interface IsolationOptions {
  /** A worker thread (cheaper) or a child process (its own heap and native state). */
  mode: IsolationMode;
  /**
   * The handler module: an absolute path or a `file:` URL (e.g.
   * `new URL('./resize.js', import.meta.url)`). Its default export, or its
   * export `processJob`, is an `IsolatedHandler`.
   */
  module: string | URL;
  /**
   * Node options of the thread or process. @default the worker's own
   * (`process.execArgv`); when the runtime itself runs from TypeScript source
   * (tests), `--conditions=source` and tsx are added.
   */
  execArgv?: string[];
}

/** The checked form: the module as a `file:` URL. */
export interface CompiledIsolation {
  mode: IsolationMode;
  module: string;
  execArgv?: string[];
}

const MODES: readonly IsolationMode[] = ['thread', 'process'];

/** Check `o`, or throw a `ConfigError` naming the field. */
export function compileIsolation(o: IsolationOptions): CompiledIsolation {
  if (typeof o !== 'object' || o === null)
    throw new ConfigError('isolation', 'must be an object { mode, module }');
  if (!MODES.includes(o.mode))
    throw new ConfigError(
      'isolation.mode',
      `${JSON.stringify(o.mode)} must be 'thread' or 'process'`,
    );
  let url: URL;
  if (o.module instanceof URL) url = o.module;
  else if (typeof o.module === 'string' && o.module.startsWith('file:')) url = new URL(o.module);
  else if (typeof o.module === 'string' && isAbsolute(o.module)) url = pathToFileURL(o.module);
  else
    throw new ConfigError(
      'isolation.module',
      `${JSON.stringify(o.module)} must be an absolute path or a file: URL`,
    );
  if (url.protocol !== 'file:')
    throw new ConfigError('isolation.module', `${url.href} must be a file: URL`);
  if (!existsSync(fileURLToPath(url)))
    throw new ConfigError('isolation.module', `${fileURLToPath(url)} does not exist`);
  if (
    o.execArgv !== undefined &&
    !(Array.isArray(o.execArgv) && o.execArgv.every((a) => typeof a === 'string'))
  )
    throw new ConfigError('isolation.execArgv', 'must be an array of strings');
  return { mode: o.mode, module: url.href, ...(o.execArgv ? { execArgv: [...o.execArgv] } : {}) };
}

const compiled = new WeakMap<object, CompiledIsolation | ConfigError>();

/**
 * The checked isolation of a worker (`undefined`: in-process), computed once
 * per worker object; a `ConfigError` if its options are invalid.
 */
export function isolationOf(w: {
  isolation?: IsolationOptions;
}): CompiledIsolation | ConfigError | undefined {
  if (!w.isolation) return undefined;
  let c = compiled.get(w);
  if (!c) {
    try {
      c = compileIsolation(w.isolation);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      c = err;
    }
    compiled.set(w, c);
  }
  return c;
}
