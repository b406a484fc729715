/**
 * Scenario 8: `list()` by status and `statistics()` with many job records
 * retained (BullMQ: `getJobs(status)` and `getJobCounts()`). The data set is
 * built once per bench invocation, straight in the system's own storage
 * layout (the same bytes the product writes, without running a million jobs):
 * 97% succeeded (events pending, running, succeeded), 1% dead, 1% cancelled,
 * 1% pending. Each repetition then times `listingCalls` calls of each kind.
 */
import { Queue } from 'bullmq';
import {
  JobQueue,
  Names,
  encodeJobHeaders,
  encodeJson,
  encodeRecord,
  generateJobId,
  newRecord,
  addTransition,
  type Job,
  type JobEvent,
  type JobState,
} from '@rfw/core/internal';
import { NatsServer } from '@rfw/testkit';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { REDIS_URL, deleteRedisPrefix } from '../harness.js';
import { quantile } from '../stats.js';
import { redisConnection } from '../systems/bullmq.js';
import { JOB_TYPE, type SystemName } from '../systems/types.js';
import type { Scenario } from './types.js';

const PREFIX = 'bench';

/** The state of record `i` of the data set. */
function stateOf(i: number): JobState {
  const r = i % 100;
  if (r === 97) return 'dead';
  if (r === 98) return 'cancelled';
  if (r === 99) return 'pending';
  return 'succeeded';
}

const built: { server?: NatsServer; bullPrefix?: string } = {};

async function waitForMessages(
  jsm: Awaited<ReturnType<typeof jetstreamManager>>,
  stream: string,
  want: number,
): Promise<void> {
  const deadline = Date.now() + 600_000;
  for (;;) {
    const n = (await jsm.streams.info(stream)).state.messages;
    if (n >= want) return;
    if (Date.now() > deadline) throw new Error(`${stream} holds ${n} of ${want} messages`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Build `count` rustfs-workers job records (KV records, events, pending messages). */
export async function buildRfw(count: number, log: (m: string) => void): Promise<NatsServer> {
  const server = await NatsServer.start();
  const q = await JobQueue.connect({ servers: server.url, prefix: PREFIX });
  await q.close();
  const names = new Names(PREFIX);
  const nc = await connect({ servers: server.url });
  const jsm = await jetstreamManager(nc);
  const kvSubject = (id: string): string => `$KV.${names.jobsBucket}.${id}`;
  let events = 0;
  let pending = 0;
  const t0 = Date.now();
  const base = Date.now() - count; // one job per ms, oldest first
  const event = (job: Job, state: JobEvent['state'], at: number): void => {
    const ev: JobEvent = { id: job.id, type: JOB_TYPE, priority: job.priority, state, at };
    nc.publish(names.eventSubject(JOB_TYPE, job.priority, state as JobState), encodeJson(ev));
    events++;
  };
  for (let i = 0; i < count; i++) {
    const at = base + i;
    const state = stateOf(i);
    const id = generateJobId(at);
    let job = newRecord(
      {
        id,
        type: JOB_TYPE,
        priority: 'normal',
        payload: { bucket: 'photos', key: `2026/11/${i}.jpg` },
        maxRetries: 3,
        timeoutMs: 300_000,
        createdAt: at,
        runAt: at,
      },
      'pending',
      at,
    );
    event(job, 'pending', at);
    if (state === 'pending') {
      nc.publish(names.jobSubject(JOB_TYPE, 'normal'), encodeJson(job.payload), {
        headers: encodeJobHeaders({ id, maxRetries: 3, timeoutMs: 300_000, createdAt: at }),
      });
      pending++;
    } else if (state === 'cancelled') {
      job = addTransition(job, { state: 'cancelled', at: at + 1 });
      event(job, 'cancelled', at + 1);
    } else {
      job = addTransition(
        { ...job, attempts: 1, workerId: 'bench-w1' },
        { state: 'running', at: at + 1, attempt: 1, workerId: 'bench-w1' },
      );
      event(job, 'running', at + 1);
      if (state === 'succeeded') {
        job = addTransition(
          { ...job, result: { bytes: 1234 } },
          { state: 'succeeded', at: at + 2, attempt: 1, workerId: 'bench-w1' },
        );
      } else {
        job = addTransition(
          { ...job, lastError: 'target unreachable', deadReason: 'non-retryable error' },
          { state: 'dead', at: at + 2, attempt: 1, workerId: 'bench-w1', error: 'unreachable' },
        );
      }
      event(job, state, at + 2);
    }
    nc.publish(kvSubject(id), encodeRecord(job));
    if (i % 5000 === 4999) await nc.flush();
    if (i % 200_000 === 199_999) log(`  built ${i + 1} records (${Date.now() - t0} ms)`);
  }
  await nc.flush();
  await waitForMessages(jsm, `KV_${names.jobsBucket}`, count);
  await waitForMessages(jsm, names.eventsStream, events);
  await waitForMessages(jsm, names.jobsStream, pending);
  await nc.close();
  log(`  rfw: ${count} records, ${events} events built in ${Date.now() - t0} ms`);
  return server;
}

/** Build `count` BullMQ jobs in BullMQ's own Redis layout (hash per job, state sets). */
async function buildBullmq(count: number, log: (m: string) => void): Promise<string> {
  const prefix = `rfwbench${process.pid.toString(36)}l`;
  const queue = new Queue(JOB_TYPE, { connection: redisConnection(REDIS_URL), prefix });
  await queue.waitUntilReady();
  await queue.close();
  const redis = redisConnection(REDIS_URL);
  const key = (k: string): string => `${prefix}:${JOB_TYPE}:${k}`;
  const t0 = Date.now();
  const base = Date.now() - count;
  try {
    let pipe = redis.pipeline();
    for (let i = 0; i < count; i++) {
      const at = base + i;
      const id = String(i + 1);
      const state = stateOf(i);
      const data = JSON.stringify({ bucket: 'photos', key: `2026/11/${i}.jpg` });
      const common = ['name', JOB_TYPE, 'data', data, 'opts', '{"attempts":4}', 'timestamp', at];
      common.push('delay', 0, 'priority', 0);
      if (state === 'pending') {
        pipe.hset(key(id), ...common);
        pipe.lpush(key('wait'), id);
      } else if (state === 'cancelled') {
        // BullMQ has no cancelled state: a removed job is gone. Count it as completed.
        pipe.hset(key(id), ...common, 'processedOn', at + 1, 'ats', 1, 'atm', 1);
        pipe.hset(key(id), 'finishedOn', at + 2, 'returnvalue', 'null');
        pipe.zadd(key('completed'), at + 2, id);
      } else if (state === 'dead') {
        pipe.hset(key(id), ...common, 'processedOn', at + 1, 'ats', 1, 'atm', 1);
        pipe.hset(key(id), 'finishedOn', at + 2, 'failedReason', 'target unreachable');
        pipe.hset(key(id), 'stacktrace', '[]');
        pipe.zadd(key('failed'), at + 2, id);
      } else {
        pipe.hset(key(id), ...common, 'processedOn', at + 1, 'ats', 1, 'atm', 1);
        pipe.hset(key(id), 'finishedOn', at + 2, 'returnvalue', '{"bytes":1234}');
        pipe.zadd(key('completed'), at + 2, id);
      }
      if (i % 5000 === 4999) {
        await pipe.exec();
        pipe = redis.pipeline();
      }
      if (i % 200_000 === 199_999) log(`  built ${i + 1} BullMQ jobs (${Date.now() - t0} ms)`);
    }
    pipe.set(key('id'), count);
    await pipe.exec();
  } finally {
    redis.disconnect();
  }
  log(`  BullMQ: ${count} jobs built in ${Date.now() - t0} ms`);
  return prefix;
}

async function timed(calls: number, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

const METRICS = [
  { key: 'listSucceeded', label: 'list, status succeeded/completed (p95)' },
  { key: 'listDead', label: 'list, status dead/failed (p95)' },
  { key: 'listPending', label: 'list, status pending/waiting (p95)' },
  { key: 'statistics', label: 'statistics / getJobCounts (p95)' },
] as const;

export function listingScenario(records: number): Scenario {
  return {
    id: 'listing',
    title: `8. list() and statistics() with ${records.toLocaleString('en-US')} job records retained`,
    systems: ['rfw', 'bullmq'],
    metrics: METRICS.map((m) => ({ ...m, unit: 'ms', better: 'lower' as const })),
    async prepare(system, ctx) {
      ctx.log(`  building ${records} ${system} job records`);
      if (system === 'rfw') built.server = await buildRfw(records, ctx.log);
      else built.bullPrefix = await buildBullmq(records, ctx.log);
    },
    async finish(system: SystemName) {
      if (system === 'rfw') await built.server?.stop();
      else if (built.bullPrefix) await deleteRedisPrefix(built.bullPrefix);
    },
    async run(system, ctx) {
      const calls = ctx.sizes.listingCalls;
      const p95 = (xs: number[]): number => quantile(xs, 0.95);
      if (system === 'rfw') {
        const q = await JobQueue.connect({ servers: built.server?.url, prefix: PREFIX });
        try {
          const check = async (status: 'succeeded' | 'dead' | 'pending'): Promise<void> => {
            const page = await q.list({ status, limit: 100 });
            if (page.jobs.length === 0) throw new Error(`list(${status}) returned no jobs`);
          };
          return {
            listSucceeded: p95(await timed(calls, () => check('succeeded'))),
            listDead: p95(await timed(calls, () => check('dead'))),
            listPending: p95(await timed(calls, () => check('pending'))),
            statistics: p95(await timed(calls, () => q.statistics())),
          };
        } finally {
          await q.close();
        }
      }
      const connection = redisConnection(REDIS_URL);
      const queue = new Queue(JOB_TYPE, { connection, prefix: built.bullPrefix });
      try {
        const check = async (status: 'completed' | 'failed' | 'wait'): Promise<void> => {
          const jobs = await queue.getJobs([status], 0, 99);
          if (jobs.length === 0) throw new Error(`getJobs(${status}) returned no jobs`);
        };
        return {
          listSucceeded: p95(await timed(calls, () => check('completed'))),
          listDead: p95(await timed(calls, () => check('failed'))),
          listPending: p95(await timed(calls, () => check('wait'))),
          statistics: p95(await timed(calls, () => queue.getJobCounts())),
        };
      } finally {
        await queue.close();
        connection.disconnect();
      }
    },
  };
}
