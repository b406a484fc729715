/**
 * The storage bench: each built-in storage worker, run as its own process on a
 * generated store with faults, against the physical limit of the same work on
 * the same disk in the same run. Writes a markdown table (stdout) and, with
 * `--out DIR`, a JSON result. Exits 1 when an injected fault is not repaired
 * or a healthy replica is rewritten.
 *
 *   npm run bench:storage -- [--objects 5000] [--dir /tmp] [--out DIR] [--cpu-prof DIR]
 *       [--no-postgres] [--steps heal,index,cleanup,resync]
 *
 * The page cache is warm for both sides of every ratio: the store is read
 * once before the first measurement, and the workers run right after their limit.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { JobQueue } from '@rfw/core';
import type { FaultManifest } from '@rfw/storage/testing';
import { NatsServer } from '@rfw/testkit';
import { benchStore, checkRepairs, replicaStamps, type FaultCheck } from './faults.js';
import { freeBytes, metadataWalk, plainCopy, readAndHash, timed } from './limits.js';
import { runStep, type StepContext } from './steps.js';
import { formatTable, type BenchRow } from './table.js';

const { values } = parseArgs({
  options: {
    objects: { type: 'string', default: '5000' },
    dir: { type: 'string', default: os.tmpdir() },
    out: { type: 'string' },
    'cpu-prof': { type: 'string' },
    'no-postgres': { type: 'boolean', default: false },
    steps: { type: 'string', default: 'heal,index,cleanup,resync' },
    'pg-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
  strict: true,
});

const objects = Number(values.objects);
if (!Number.isSafeInteger(objects) || objects < 20) {
  throw new TypeError(`--objects must be an integer >= 20, got ${values.objects}`);
}
// ~150 KB per object and replica with --large 0, plus a copy of one node for the cp limit.
const needBytes = objects * 150_000 * 4;
const free = await freeBytes(values.dir);
if (free < needBytes) {
  console.error(
    `not enough free disk in ${values.dir}: ${(free / 1e9).toFixed(1)} GB free, ~${(needBytes / 1e9).toFixed(1)} GB needed`,
  );
  process.exit(2);
}

const GROUPS = ['heal', 'index', 'cleanup', 'resync'] as const;
const groups = new Set(values.steps.split(','));
for (const g of groups) {
  if (!(GROUPS as readonly string[]).includes(g)) {
    throw new TypeError(`--steps: unknown step group ${g}; known: ${GROUPS.join(', ')}`);
  }
}

const work = await fs.mkdtemp(path.join(values.dir, 'rfw-storage-bench-'));
const faultsEach = Math.max(1, Math.round(objects * 0.003));
const gen = await timed(() => benchStore(path.join(work, 'store'), objects, faultsEach));
const manifest: FaultManifest = gen.value;
console.error(`generated ${objects} objects in ${(gen.ms / 1000).toFixed(1)} s under ${work}`);

const server = await NatsServer.start();
const queue = await JobQueue.connect({ servers: server.url, prefix: 'sbench' });
const ctx: StepContext = {
  queue,
  env: {
    NATS_URL: server.url,
    RFW_PREFIX: 'sbench',
    TOPOLOGY_FILE: path.join(work, 'store', 'topology.json'),
  },
  work,
  manifest,
  cpuProfDir: values['cpu-prof'],
};
const roots = manifest.nodes.map((n) => n.root);
const bucketDirs = roots.map((r) => path.join(r, 'data'));
const rows: BenchRow[] = [];
let check: FaultCheck | undefined;
let failure = '';

try {
  await readAndHash(roots); // warm the page cache: every ratio below is warm/warm
  if (groups.has('heal')) {
    const hashLimit = await timed(() => readAndHash(roots));
    const before = await replicaStamps(manifest);
    const deep = await runStep(ctx, 'heal-deep');
    check = checkRepairs(manifest, before, await replicaStamps(manifest));
    const shallow = await runStep(ctx, 'heal-shallow');
    const limit = { limit: 'read+hash', limitMs: hashLimit.ms, bytes: hashLimit.value };
    rows.push({ ...deep, ...limit, target: 0.7 }, { ...shallow, ...limit });
    if (shallow.result.healthy !== objects) {
      failure += `shallow heal after the deep heal found damage: ${JSON.stringify(shallow.result)}\n`;
    }
  }

  const walkLimit = await timed(() => metadataWalk(bucketDirs));
  const walk = { limit: 'metadata walk', limitMs: walkLimit.ms, target: 0.5 };
  if (groups.has('index')) {
    rows.push({ ...(await runStep(ctx, 'index-sqlite')), ...walk });
    if (!values['no-postgres']) {
      ctx.pgUrl = values['pg-url'];
      rows.push({ ...(await runStep(ctx, 'index-postgres')), ...walk });
    }
  }
  if (groups.has('cleanup')) rows.push({ ...(await runStep(ctx, 'cleanup')), ...walk });

  if (groups.has('resync')) {
    const copyTo = path.join(work, 'plain-copy');
    const copyLimit = await timed(() => plainCopy(bucketDirs[0] as string, copyTo));
    await fs.rm(copyTo, { recursive: true, force: true });
    const resync = await runStep(ctx, 'resync');
    rows.push({
      ...resync,
      limit: 'cp -r',
      limitMs: copyLimit.ms,
      bytes: copyLimit.value,
      target: 0.7,
    });
    const onEmpty = await metadataWalk([bucketDirs[2] as string]);
    if (onEmpty !== objects)
      failure += `resync left ${onEmpty} of ${objects} objects on the emptied node\n`;
  }
} finally {
  await queue.close();
  await server.stop();
}

if (check && (check.healthyRewritten.length > 0 || check.notRepaired.length > 0)) {
  failure += `fault check: ${JSON.stringify(check)}\n`;
}
const table = formatTable(rows);
console.log(`## Storage bench: ${objects} objects, 3 nodes, ${manifest.faults.length} faults\n`);
console.log(table);
if (check) {
  console.log(
    `\nFaults: ${check.repaired}/${check.injected} object faults repaired, ${check.healthyRewritten.length} healthy replicas rewritten.`,
  );
}
if (values.out) {
  await fs.mkdir(values.out, { recursive: true });
  const file = path.join(values.out, `storage-${objects}-${Date.now()}.json`);
  await fs.writeFile(
    file,
    JSON.stringify({ version: 1, objects, nproc: os.cpus().length, rows, check }, null, 2),
  );
}
await fs.rm(work, { recursive: true, force: true });
if (failure) {
  console.error(failure);
  process.exit(1);
}
