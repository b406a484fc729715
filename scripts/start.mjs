#!/usr/bin/env node
// `npm start`: the whole system on this machine (see docs/operations.md).
//
// The supervisor and the services are TypeScript run from source through tsx
// with the `source` export condition, the same way the tests run them: no
// build step, so a fresh `npm ci && npm start` works and edits show on the
// next start. (Containers run the compiled `dist/` instead: deploy/Dockerfile.)
import { existsSync } from 'node:fs';
import { register } from 'node:module';

const root = new URL('../', import.meta.url);
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 11)) {
  process.stderr.write(`npm start needs Node.js 20.11 or newer; this is ${process.version}.\n`);
  process.exit(1);
}
if (!existsSync(new URL('node_modules/tsx/package.json', root))) {
  process.stderr.write('Dependencies are not installed: run `npm ci` first, then `npm start`.\n');
  process.exit(1);
}

// Resolve workspace packages to their TypeScript sources (the `source` condition),
// as `node --conditions=source` would, and load TypeScript through tsx.
const { register: registerTsx } = await import('tsx/esm/api');
registerTsx();
register('./source-condition.mjs', import.meta.url);

const { main } = await import('../libs/supervisor/src/main.ts');
process.exitCode = await main();
