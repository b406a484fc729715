#!/usr/bin/env node
// Prints the nats-server the project would run, fetching it into the cache
// (.cache/nats-server/<version>/nats-server) when needed:
//
//   node scripts/nats-server.mjs            # PATH's if 2.10+, else cached, else Debian sid's
//   node scripts/nats-server.mjs trixie     # Debian trixie's current build (2.10.x)
//   node scripts/nats-server.mjs sid        # Debian sid's current build (2.12 or newer)
//   node scripts/nats-server.mjs 2.10       # a cached 2.10.x, else trixie's
//
// Output: `<path> <version>` on one line. Exit 1 with what to install instead.
import { register } from 'node:module';

const { register: registerTsx } = await import('tsx/esm/api');
registerTsx();
register('./source-condition.mjs', import.meta.url);
const { resolveNatsServer } = await import('../libs/testkit/src/server-binary.ts');

const wanted = process.argv[2];
const env = wanted
  ? { ...process.env, NATS_SERVER_BIN: '', NATS_SERVER_VERSION: wanted }
  : process.env;
try {
  const s = resolveNatsServer(env);
  process.stdout.write(`${s.bin} ${s.version}\n`);
} catch (err) {
  process.stderr.write(`${err.message}\n`);
  process.exitCode = 1;
}
