/**
 * Loads `pg` lazily (SQLite-only deployments never load it), through
 * `require`, i.e. its CommonJS build.
 *
 * Under a runner that passes `--conditions import` to Node (vitest does, with
 * this repo's root `resolve.conditions`), even `require('pg-pool')` inside
 * `pg` resolves to pg-pool's ESM entry, and `class Pool extends require(...)`
 * then fails. In that case only, CommonJS resolution is patched so that a
 * bare `require` of a package landing on an `.mjs` file takes the package's
 * `exports["."].require` entry instead.
 */
import { existsSync, readFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import path from 'node:path';
import type PgModule from 'pg';

type ResolveFilename = (
  request: string,
  parent: unknown,
  isMain: boolean,
  options?: unknown,
) => string;

const requireCjs = createRequire(import.meta.url);
let cached: typeof PgModule | undefined;
let patched = false;

function hasImportCondition(execArgv: readonly string[]): boolean {
  return execArgv.some(
    (arg, i) =>
      arg === '--conditions=import' ||
      arg === '-C=import' ||
      ((arg === '--conditions' || arg === '-C') && execArgv[i + 1] === 'import'),
  );
}

function requireEntryOf(resolved: string): string | undefined {
  const marker = `${path.sep}node_modules${path.sep}`;
  const at = resolved.lastIndexOf(marker);
  if (at < 0) return undefined;
  const rest = resolved.slice(at + marker.length).split(path.sep);
  const nameParts = rest[0]?.startsWith('@') ? 2 : 1;
  const root = resolved.slice(0, at + marker.length) + rest.slice(0, nameParts).join(path.sep);
  try {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      exports?: { '.'?: { require?: unknown } };
    };
    const entry = pkg.exports?.['.']?.require;
    if (typeof entry !== 'string') return undefined;
    const file = path.join(root, entry);
    return existsSync(file) ? file : undefined;
  } catch {
    return undefined;
  }
}

function preferRequireEntries(): void {
  if (patched) return;
  patched = true;
  const internals = Module as unknown as { _resolveFilename: ResolveFilename };
  const original = internals._resolveFilename;
  internals._resolveFilename = function resolve(this: unknown, request, parent, isMain, options) {
    const resolved = original.call(this, request, parent, isMain, options);
    if (!resolved.endsWith('.mjs') || request.startsWith('.') || path.isAbsolute(request))
      return resolved;
    return requireEntryOf(resolved) ?? resolved;
  };
}

/** The `pg` module (CommonJS build). */
export function loadPg(): typeof PgModule {
  if (!cached && hasImportCondition(process.execArgv)) preferRequireEntries();
  cached ??= requireCjs('pg') as typeof PgModule;
  return cached;
}
