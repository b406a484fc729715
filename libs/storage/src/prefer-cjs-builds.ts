import { existsSync } from 'node:fs';
import Module from 'node:module';

type ResolveFilename = (
  request: string,
  parent: unknown,
  isMain: boolean,
  options?: unknown,
) => string;
interface ModuleInternals {
  _resolveFilename: ResolveFilename;
}

let installed = false;

/**
 * Test-only workaround. When Node runs with `--conditions module` (vitest passes its
 * `resolve.conditions` to worker processes, and this repo's root config lists `module`), the
 * AWS SDK's `exports` resolve to `dist-es`, a bundler-only build whose extensionless imports
 * Node cannot load. This patches CommonJS resolution in the current process so that any
 * `.../dist-es/...` file that has a `.../dist-cjs/...` twin resolves to the twin.
 * Idempotent. Not needed (and a no-op in effect) when `module` is not a condition.
 */
export function preferCjsBuilds(): void {
  if (installed) return;
  installed = true;
  const internals = Module as unknown as ModuleInternals;
  const original = internals._resolveFilename;
  internals._resolveFilename = function patched(this: unknown, request, parent, isMain, options) {
    const resolved = original.call(this, request, parent, isMain, options);
    if (!resolved.includes('/dist-es/')) return resolved;
    const cjs = resolved.replace('/dist-es/', '/dist-cjs/');
    return existsSync(cjs) ? cjs : resolved;
  };
}
