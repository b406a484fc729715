#!/usr/bin/env node
// Regenerate deploy/nats/accounts.conf (the NATS users and their permissions)
// from libs/supervisor/src/nats-permissions.ts.
//   node scripts/gen-nats-accounts.mjs                 write deploy/nats/accounts.conf (prefix rfw)
//   node scripts/gen-nats-accounts.mjs --prefix acme   print the file for another prefix
import { writeFileSync } from 'node:fs';
import { register } from 'node:module';

const { register: registerTsx } = await import('tsx/esm/api');
registerTsx();
register('./source-condition.mjs', import.meta.url);
const { renderAccountsConf } = await import('../libs/supervisor/src/nats-permissions.ts');

const i = process.argv.indexOf('--prefix');
if (i >= 0) {
  process.stdout.write(renderAccountsConf(process.argv[i + 1]));
} else {
  const file = new URL('../deploy/nats/accounts.conf', import.meta.url);
  writeFileSync(file, renderAccountsConf('rfw'));
  process.stdout.write(`wrote ${file.pathname}\n`);
}
