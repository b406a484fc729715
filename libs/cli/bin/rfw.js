#!/usr/bin/env node
// Launcher of `rfw`.
//  1. The build (dist/main.js) when there is one not older than the sources.
//  2. Else the TypeScript sources, with the workspace `source` export
//     condition, so a checkout needs no build. They are bundled once with
//     esbuild (npm packages stay external) into node_modules/.cache/rfw-cli,
//     rebuilt when a source file changes: a start then costs about a third of
//     the CPU of loading each module through tsx's loader hooks.
//  3. Else (no esbuild, or the cache cannot be written) the sources through
//     tsx's ESM loader in this process.
// RFW_CLI_SOURCE=1 skips step 1; RFW_CLI_TSX=1 goes straight to step 3.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { register } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const dist = join(root, 'dist', 'main.js');
const srcDir = join(root, 'src');
const entry = join(srcDir, 'main.ts');
const cacheDir = join(root, 'node_modules', '.cache', 'rfw-cli');
const bundle = join(cacheDir, 'main.mjs');
const manifest = join(cacheDir, 'inputs.json');

const mtime = (p) => {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return Infinity;
  }
};

/** Newest mtime (ms) of the files under `dir`. */
function newest(dir) {
  let max = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    max = Math.max(max, e.isDirectory() ? newest(p) : mtime(p));
  }
  return max;
}

function distIsFresh() {
  if (process.env.RFW_CLI_SOURCE === '1' || !existsSync(dist)) return false;
  return !existsSync(srcDir) || mtime(dist) >= newest(srcDir);
}

/** The bundle is fresh when no file it was built from changed (or went away) since. */
function bundleIsFresh() {
  const built = mtime(bundle);
  if (built === Infinity) return false;
  try {
    const inputs = JSON.parse(readFileSync(manifest, 'utf8'));
    return inputs.every((p) => mtime(p) <= built);
  } catch {
    return false;
  }
}

async function buildBundle() {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['source'],
    sourcemap: true,
    metafile: true,
    write: false,
    outfile: bundle,
    absWorkingDir: root,
    logLevel: 'silent',
    plugins: [
      {
        // Only the workspace's TypeScript is bundled; npm packages load as usual.
        name: 'npm-packages-external',
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (a) =>
            a.path.startsWith('@rfw/') ? undefined : { path: a.path, external: true },
          );
        },
      },
    ],
  });
  mkdirSync(cacheDir, { recursive: true });
  // Write-then-rename: several starts may build at once; none sees a torn file.
  const tmp = `.${process.pid}.tmp`;
  for (const f of result.outputFiles) {
    writeFileSync(f.path + tmp, f.contents);
    renameSync(f.path + tmp, f.path);
  }
  const inputs = Object.keys(result.metafile.inputs).map((p) => join(root, p));
  writeFileSync(manifest + tmp, JSON.stringify(inputs));
  renameSync(manifest + tmp, manifest);
}

async function runViaTsx() {
  let tsx;
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    process.stderr.write(
      'rfw: there is no build (dist/main.js) and tsx is not installed: run npm install, or npm run build\n',
    );
    process.exit(1);
  }
  const sourceCondition =
    'export async function resolve(specifier, context, next) {' +
    ' const conditions = context.conditions.includes("source") ? context.conditions : ["source", ...context.conditions];' +
    ' return next(specifier, { ...context, conditions }); }';
  register(`data:text/javascript,${encodeURIComponent(sourceCondition)}`);
  tsx.register();
  await import(pathToFileURL(entry).href);
}

if (process.env.RFW_DEBUG) process.setSourceMapsEnabled(true);
if (distIsFresh()) {
  await import(pathToFileURL(dist).href);
} else {
  const tsxOnly = process.env.RFW_CLI_TSX === '1';
  let ready = !tsxOnly && bundleIsFresh();
  if (!ready && !tsxOnly) {
    try {
      await buildBundle();
      ready = true;
    } catch (err) {
      if (process.env.RFW_DEBUG) process.stderr.write(`rfw: bundling failed, using tsx: ${err}\n`);
    }
  }
  if (ready) await import(pathToFileURL(bundle).href);
  else await runViaTsx();
}
