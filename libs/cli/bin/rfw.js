#!/usr/bin/env node
// Launcher of `rfw`. Runs the build (dist/main.js) when there is one that is
// not older than the sources; else the TypeScript sources in this process,
// through tsx's loader plus a resolve hook that adds the workspace `source`
// export condition (what `node --conditions=source --import tsx` would do), so
// a checkout needs no build. RFW_CLI_SOURCE=1 forces the sources.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { register } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const dist = join(root, 'dist', 'main.js');
const srcDir = join(root, 'src');

/** Newest mtime (ms) of the files under `dir`. */
function newest(dir) {
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    max = Math.max(max, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return max;
}

function useDist() {
  if (process.env.RFW_CLI_SOURCE === '1' || !existsSync(dist)) return false;
  if (!existsSync(srcDir)) return true;
  return statSync(dist).mtimeMs >= newest(srcDir);
}

if (useDist()) {
  await import(pathToFileURL(dist).href);
} else {
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
  await import(pathToFileURL(join(srcDir, 'main.ts')).href);
}
