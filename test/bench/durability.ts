/**
 * What each durability setting costs: `schedule()` throughput on a single
 * server (R1) and a 3-server cluster (R3, replicas 3), each with nats-server's
 * default flush (`sync_interval` 2 min: writes reach the OS page cache before
 * the ack, fsync later) and with `sync_interval: always` (fsync before every
 * ack). All four run in one process, one after the other, on the nats-server
 * the test kit resolves (NATS_SERVER_BIN / NATS_SERVER_VERSION).
 *
 *   npm run bench:durability                  # 10,000 jobs bulk, 1,000 one at a time
 *   DURABILITY_JOBS=50000 npm run bench:durability
 *
 * Prints a Markdown table; docs/reliability.md ("The durability contract")
 * quotes it.
 */
import { JobQueue } from '@rfw/core';
import { NatsCluster, NatsServer, natsServerVersion } from '@rfw/testkit';

const BULK = Number(process.env.DURABILITY_JOBS ?? 10_000);
const SINGLE = Math.max(100, Math.round(BULK / 10));

interface Setup {
  name: string;
  replicas: 1 | 3;
  sync: 'default' | 'always';
}

const SETUPS: Setup[] = [
  { name: 'R1, default flush', replicas: 1, sync: 'default' },
  { name: 'R1, sync_interval: always', replicas: 1, sync: 'always' },
  { name: 'R3, default flush', replicas: 3, sync: 'default' },
  { name: 'R3, sync_interval: always', replicas: 3, sync: 'always' },
];

interface Row {
  setup: Setup;
  bulkPerSec: number;
  singlePerSec: number;
  singleP50Ms: number;
}

async function measure(setup: Setup): Promise<Row> {
  const jetstreamConfig = setup.sync === 'always' ? 'sync_interval: always' : '';
  const servers =
    setup.replicas === 1
      ? await NatsServer.start({ jetstreamConfig })
      : await NatsCluster.start(3, { jetstreamConfig });
  const urls = servers instanceof NatsServer ? [servers.url] : servers.urls;
  const queue = await JobQueue.connect({
    servers: urls,
    prefix: 'dur',
    provision: { replicas: setup.replicas, maxQueuedJobs: BULK * 4 },
  });
  try {
    const payload = { bucket: 'photos', key: 'a/b/c.jpg', size: 12345 };
    let t0 = performance.now();
    const ids = await queue.scheduleMany(
      Array.from({ length: BULK }, () => ({ type: 'dur', payload })),
    );
    const failed = ids.filter((r) => !('id' in r)).length;
    if (failed > 0) throw new Error(`${failed} bulk schedules failed`);
    const bulkPerSec = BULK / ((performance.now() - t0) / 1000);
    const lat: number[] = [];
    t0 = performance.now();
    for (let i = 0; i < SINGLE; i++) {
      const t = performance.now();
      await queue.schedule('dur', payload);
      lat.push(performance.now() - t);
    }
    const singlePerSec = SINGLE / ((performance.now() - t0) / 1000);
    lat.sort((a, b) => a - b);
    return { setup, bulkPerSec, singlePerSec, singleP50Ms: lat[Math.floor(lat.length / 2)]! };
  } finally {
    await queue.close();
    await servers.stop();
  }
}

const version = natsServerVersion()?.join('.') ?? 'unknown';
const rows: Row[] = [];
for (const s of SETUPS) {
  rows.push(await measure(s));
  process.stderr.write(`done: ${s.name}\n`);
}
const base = rows[0]!;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const lines = [
  `nats-server ${version}, ${BULK.toLocaleString('en-US')} jobs bulk (scheduleMany), ${SINGLE.toLocaleString('en-US')} one at a time (schedule)`,
  '',
  '| setup | bulk jobs/s | vs R1 default | one-at-a-time jobs/s | p50 schedule() ms |',
  '| --- | --- | --- | --- | --- |',
  ...rows.map(
    (r) =>
      `| ${r.setup.name} | ${fmt(r.bulkPerSec)} | ${(r.bulkPerSec / base.bulkPerSec).toFixed(2)}x | ${fmt(r.singlePerSec)} | ${r.singleP50Ms.toFixed(2)} |`,
  ),
];
process.stdout.write(`${lines.join('\n')}\n`);
