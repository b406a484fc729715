#!/usr/bin/env node
// Regenerate the NATS users and their permissions from
// libs/supervisor/src/nats-permissions.ts:
//   node scripts/gen-nats-accounts.mjs                 write deploy/nats/accounts.conf and deploy/k8s/nats/values.yaml (prefix rfw)
//   node scripts/gen-nats-accounts.mjs --prefix acme   print accounts.conf for another prefix
import { writeFileSync } from 'node:fs';
import { register } from 'node:module';

const { register: registerTsx } = await import('tsx/esm/api');
registerTsx();
register('./source-condition.mjs', import.meta.url);
const { renderAccountsConf, renderNatsHelmValues } =
  await import('../libs/supervisor/src/nats-permissions.ts');

const i = process.argv.indexOf('--prefix');
if (i >= 0) {
  process.stdout.write(renderAccountsConf(process.argv[i + 1]));
} else {
  for (const [path, text] of [
    ['../deploy/nats/accounts.conf', renderAccountsConf('rfw')],
    ['../deploy/k8s/nats/values.yaml', renderNatsHelmValues('rfw')],
  ]) {
    const file = new URL(path, import.meta.url);
    writeFileSync(file, text);
    process.stdout.write(`wrote ${file.pathname}\n`);
  }
}
