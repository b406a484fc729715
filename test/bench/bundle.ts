/**
 * Bundle the child entry and the scheduler service (and the workspace
 * libraries they use, from source) into JavaScript files run with plain
 * `node`, as production runs compiled code (`deploy/Dockerfile` runs `dist/`):
 * no TypeScript loader in the measured processes. Third-party
 * packages stay external and load from node_modules.
 */
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * `BENCH_RFW_LIBS=/tmp/scratch/libs` takes `@rfw/core` and `@rfw/worker` from
 * a scratch copy (`<dir>/core/src`, `<dir>/worker/src`): measure a proposed
 * change to the product without touching it.
 */
const scratchLibs = process.env.BENCH_RFW_LIBS;

const externalDeps: Plugin = {
  name: 'external-deps',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      const m = /^@rfw\/(core|worker)(\/internal)?$/.exec(args.path);
      if (scratchLibs && m?.[1])
        return { path: join(scratchLibs, m[1], 'src', m[2] ? 'internal.ts' : 'index.ts') };
      return args.path.startsWith('@rfw/') ? undefined : { path: args.path, external: true };
    });
  },
};

/**
 * Build the child bundle; resolves with its entry file and a function that
 * removes it. Each system's adapter is its own chunk, loaded on demand, so a
 * worker process holds only its own system's code (this matters for RSS).
 */
export async function bundleChild(): Promise<{
  file: string;
  scheduler: string;
  remove: () => void;
}> {
  // Under test/dist (git-ignored) so that external imports resolve from the repo's node_modules.
  const outdir = join(here, '..', 'dist', `bench-${process.pid}`);
  await build({
    entryPoints: {
      child: join(here, 'child.ts'),
      scheduler: join(here, '..', '..', 'services', 'scheduler', 'src', 'main.ts'),
    },
    outdir,
    outExtension: { '.js': '.mjs' },
    splitting: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['source'],
    sourcemap: 'inline',
    logLevel: 'error',
    plugins: [externalDeps],
  });
  return {
    file: join(outdir, 'child.mjs'),
    scheduler: join(outdir, 'scheduler.mjs'),
    remove: () => rmSync(outdir, { recursive: true, force: true }),
  };
}
