/**
 * Bundle the child entry (and the workspace libraries it uses, from source)
 * into one JavaScript file run with plain `node`, as production runs
 * compiled code: no TypeScript loader in the measured processes. Third-party
 * packages stay external and load from node_modules.
 */
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));

const externalDeps: Plugin = {
  name: 'external-deps',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@rfw/') ? undefined : { path: args.path, external: true },
    );
  },
};

/** Build the child bundle; resolves with its path and a function that removes it. */
export async function bundleChild(): Promise<{ file: string; remove: () => void }> {
  // Under test/dist (git-ignored) so that external imports resolve from the repo's node_modules.
  const file = join(here, '..', 'dist', `bench-child-${process.pid}.mjs`);
  await build({
    entryPoints: [join(here, 'child.ts')],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['source'],
    sourcemap: 'inline',
    logLevel: 'error',
    plugins: [externalDeps],
  });
  return { file, remove: () => rmSync(file, { force: true }) };
}
