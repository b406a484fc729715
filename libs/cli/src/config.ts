/**
 * Where `rfw` connects: the NATS URL and the names prefix, from flags, the
 * environment, or the runtime file that `npm start` writes, so that a bare
 * `npx rfw` finds the local system.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { UsageError } from './errors.js';

/** The default NATS URL when nothing else says where NATS is. */
export const DEFAULT_SERVER = 'nats://127.0.0.1:4222';
/** The default names prefix. */
export const DEFAULT_PREFIX = 'rfw';
/** Where `npm start` writes its runtime file, relative to the repository root. */
export const RUNTIME_FILE = join('.data', 'runtime.json');

/** What `npm start` writes to `<repo root>/.data/runtime.json`. */
export const RuntimeInfo = z
  .object({
    natsUrl: z.string().min(1).optional(),
    monitorUrl: z.string().optional(),
    prefix: z.string().min(1).optional(),
  })
  .loose();
export type RuntimeInfo = z.infer<typeof RuntimeInfo>;

/** Where a setting came from, printed when the connection fails. */
export type Source = 'flag' | 'env' | 'runtime' | 'default';

export interface Target {
  /** NATS URLs (a comma-separated `--server` gives several). */
  servers: string[];
  serversFrom: Source;
  prefix: string;
  prefixFrom: Source;
  /** The runtime file that was read, if any. */
  runtimeFile?: string;
}

export interface TargetInput {
  server?: string;
  prefix?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Directory of the CLI itself (its installed location). */
  selfDir?: string;
}

/** The nearest ancestor of `from` (itself included) holding a workspace root package.json. */
export function findRepoRoot(from: string): string | undefined {
  let dir = resolve(from);
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        const parsed = JSON.parse(readFileSync(pkg, 'utf8')) as { workspaces?: unknown };
        if (parsed.workspaces !== undefined) return dir;
      } catch {
        // An unreadable package.json is not a root; keep walking.
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * The runtime file to read: `RFW_RUNTIME_FILE` when set (even if missing), else
 * `.data/runtime.json` under the repository root found from the working
 * directory, else under the one found from the CLI's own location.
 */
export function findRuntimeFile(
  env: NodeJS.ProcessEnv,
  cwd: string,
  selfDir: string,
): string | undefined {
  const explicit = env.RFW_RUNTIME_FILE;
  if (explicit !== undefined && explicit !== '') {
    return existsSync(explicit) ? resolve(explicit) : undefined;
  }
  for (const start of [cwd, selfDir]) {
    const root = findRepoRoot(start);
    if (!root) continue;
    const file = join(root, RUNTIME_FILE);
    if (existsSync(file)) return file;
  }
  return undefined;
}

/** Read and check a runtime file; a malformed one is a clear error, not a silent default. */
export function readRuntimeFile(file: string): RuntimeInfo {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`cannot read runtime file ${file}: ${(err as Error).message}`);
  }
  const parsed = RuntimeInfo.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(
      `runtime file ${file}: field ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}

function splitServers(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

const SELF_DIR = dirname(fileURLToPath(import.meta.url));

/**
 * Resolve the target. NATS URL: `--server`, else `NATS_URL`, else the runtime
 * file's `natsUrl`, else `nats://127.0.0.1:4222`. Prefix: `--prefix`, else
 * `RFW_PREFIX`, else the runtime file's `prefix` (when its URL is the one
 * used), else `rfw`.
 */
export function resolveTarget(input: TargetInput = {}): Target {
  const env = input.env ?? process.env;
  let servers: string[];
  let serversFrom: Source;
  let runtime: RuntimeInfo | undefined;
  let runtimeFile: string | undefined;
  if (input.server !== undefined) {
    servers = splitServers(input.server);
    serversFrom = 'flag';
    if (servers.length === 0) throw new UsageError('invalid --server: empty URL');
  } else if (env.NATS_URL) {
    servers = splitServers(env.NATS_URL);
    serversFrom = 'env';
  } else {
    runtimeFile = findRuntimeFile(env, input.cwd ?? process.cwd(), input.selfDir ?? SELF_DIR);
    if (runtimeFile) runtime = readRuntimeFile(runtimeFile);
    if (runtime?.natsUrl) {
      servers = splitServers(runtime.natsUrl);
      serversFrom = 'runtime';
    } else {
      servers = [DEFAULT_SERVER];
      serversFrom = 'default';
      runtime = undefined;
      runtimeFile = undefined;
    }
  }

  // The runtime file describes one system: its prefix applies only to its URL.
  let prefix: string;
  let prefixFrom: Source;
  if (input.prefix !== undefined) {
    prefix = input.prefix;
    prefixFrom = 'flag';
  } else if (env.RFW_PREFIX) {
    prefix = env.RFW_PREFIX;
    prefixFrom = 'env';
  } else if (runtime?.prefix) {
    prefix = runtime.prefix;
    prefixFrom = 'runtime';
  } else {
    prefix = DEFAULT_PREFIX;
    prefixFrom = 'default';
  }
  return { servers, serversFrom, prefix, prefixFrom, runtimeFile };
}

/** "nats://... (from NATS_URL)": says where the URL came from, for error messages. */
export function describeServers(t: Target): string {
  const where = {
    flag: 'from --server',
    env: 'from NATS_URL',
    runtime: `from ${t.runtimeFile ?? RUNTIME_FILE}, written by npm start: is it still running?`,
    default: 'the default; set --server or NATS_URL, or run npm start',
  }[t.serversFrom];
  return `${t.servers.join(', ')} (${where})`;
}
