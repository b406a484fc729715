/**
 * Counting what happened to every job of a scenario, from three independent
 * sources: the job records (the source of truth), the executions the fixture
 * workers logged, and the terminal events kept in the events stream.
 */
import { existsSync, readFileSync } from 'node:fs';
import {
  TERMINAL_STATES,
  decodeJson,
  jobIdOf,
  type CoreContext,
  type Job,
  type JobEvent,
  type JobQueue,
} from '@rfw/core/internal';
import { waitFor } from '@rfw/testkit';
import type { TallyInput } from './report.js';

/** One execution a fixture worker started. */
export interface Execution {
  attempt: number;
  pid: number;
}

/** Executions by job id, from a `<jobId> <attempt> <pid>` log (a torn last line is skipped). */
export function readExecLog(path: string): Map<string, Execution[]> {
  const out = new Map<string, Execution[]>();
  if (!existsSync(path)) return out;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^(\S+) (\d+) (\d+)$/.exec(line);
    if (!m) continue;
    const list = out.get(m[1] as string) ?? [];
    list.push({ attempt: Number(m[2]), pid: Number(m[3]) });
    out.set(m[1] as string, list);
  }
  return out;
}

/**
 * Run a read of the ledger again when the broker times out: right after a
 * node loss a cluster can take a few seconds to answer every request, and a
 * count must not fail for a slow read. Other errors are thrown at once.
 */
export async function reread<T>(fn: () => Promise<T>, attempts = 6): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      const e = err as (Error & { cause?: Error }) | undefined;
      const timeout = e?.name === 'TimeoutError' || e?.cause?.name === 'TimeoutError';
      // A cluster that just got a node back can answer "no responders" for a moment.
      const noResponders = /no responders/i.test(`${e?.message ?? ''} ${e?.cause?.message ?? ''}`);
      if ((!timeout && !noResponders) || i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 500 * i));
    }
  }
}

/** Messages waiting or in flight in the installation's jobs stream. */
export async function queuedMessages(ctx: CoreContext): Promise<number> {
  return (await reread(() => ctx.jsm.streams.info(ctx.names.jobsStream))).state.messages;
}

/** Jobs waiting for or held by a worker: pending plus unacknowledged, over the jobs stream's consumers. */
export async function unsettledMessages(ctx: CoreContext): Promise<number> {
  let n = 0;
  for await (const c of ctx.jsm.consumers.list(ctx.names.jobsStream)) {
    n += c.num_pending + c.num_ack_pending;
  }
  return n;
}

/**
 * Wait until every job message has been settled: nothing pending or
 * unacknowledged on the jobs stream's consumers (records are written before
 * the ack). Messages left in the stream below every consumer's ack floor are
 * not counted here; `queuedMessages()` shows them. Resolves false on timeout
 * instead of throwing, so the caller can still count and report.
 */
export async function waitForDrain(ctx: CoreContext, timeoutMs: number): Promise<boolean> {
  try {
    await waitFor('the jobs to settle', async () => (await unsettledMessages(ctx)) === 0, {
      timeoutMs,
      intervalMs: 250,
    });
    return true;
  } catch {
    return false;
  }
}

/** Read the records of `ids`, `concurrency` at a time (`undefined`: no record). */
export async function readRecords(
  queue: JobQueue,
  ids: readonly string[],
  concurrency = 128,
): Promise<Map<string, Job | undefined>> {
  const out = new Map<string, Job | undefined>();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < ids.length) {
        const id = ids[next++] as string;
        out.set(id, (await reread(() => queue.ctx.records.get(id)))?.job);
      }
    }),
  );
  return out;
}

/** Terminal events (`succeeded`, `dead`, `cancelled`) kept in the events stream, by job id. */
export async function readTerminalEvents(ctx: CoreContext): Promise<Map<string, JobEvent[]>> {
  const out = new Map<string, JobEvent[]>();
  for (const state of TERMINAL_STATES) {
    const subject = ctx.names.eventSubject('*', '*', state);
    const info = await reread(() =>
      ctx.jsm.streams.info(ctx.names.eventsStream, { subjects_filter: subject }),
    );
    const total = Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
    if (total === 0) continue;
    // Read the state's events whole, again from the start if the read fails.
    const events = await reread(async () => {
      const got: JobEvent[] = [];
      const consumer = await ctx.js.consumers.get(ctx.names.eventsStream, {
        filter_subjects: subject,
      });
      try {
        while (got.length < total) {
          const batch = await consumer.fetch({ max_messages: 2000, expires: 2000 });
          const before = got.length;
          for await (const m of batch) got.push(decodeJson<JobEvent>(m.data));
          if (got.length === before) break;
        }
      } finally {
        await consumer.delete().catch(() => undefined);
      }
      return got;
    });
    for (const ev of events) {
      const list = out.get(ev.id) ?? [];
      list.push(ev);
      out.set(ev.id, list);
    }
  }
  return out;
}

/** Terminal transitions in a record's history (more than one is a double ending). */
export function terminalTransitions(job: Job): number {
  return job.history.filter((t) => TERMINAL_STATES.has(t.state)).length;
}

/** What still sits in the jobs stream, for a report when the queue does not drain. */
export async function describeBacklog(
  queue: JobQueue,
  max = 10,
): Promise<{
  messages: number;
  firstSeq: number;
  lastSeq: number;
  consumers: Array<{
    name: string;
    pending: number;
    ackPending: number;
    redelivered: number;
    ackFloor: number;
    delivered: number;
  }>;
  sample: Array<{ seq: number; id: string; state: string }>;
}> {
  const { ctx } = queue;
  const info = await reread(() => ctx.jsm.streams.info(ctx.names.jobsStream));
  const consumers = [];
  for await (const c of ctx.jsm.consumers.list(ctx.names.jobsStream)) {
    consumers.push({
      name: c.name,
      pending: c.num_pending,
      ackPending: c.num_ack_pending,
      redelivered: c.num_redelivered,
      ackFloor: c.ack_floor.stream_seq,
      delivered: c.delivered.stream_seq,
    });
  }
  const sample = [];
  let seq = info.state.first_seq;
  while (sample.length < max && info.state.messages > 0) {
    let m;
    try {
      m = await ctx.jsm.direct.getMessage(ctx.names.jobsStream, {
        seq,
        next_by_subj: ctx.names.jobsWildcard,
      });
    } catch {
      break;
    }
    if (!m) break;
    seq = m.seq + 1;
    const id = jobIdOf(m.header, m.seq);
    const rec = await ctx.records.get(id);
    sample.push({ seq: m.seq, id, state: rec?.job.state ?? 'no record' });
  }
  return {
    messages: info.state.messages,
    firstSeq: info.state.first_seq,
    lastSeq: info.state.last_seq,
    consumers,
    sample,
  };
}

/** The three sources a scenario counts from, for `ids`: records, terminal events, executions. */
export async function readLedger(
  queue: JobQueue,
  ids: readonly string[],
  execLog: string,
): Promise<Pick<TallyInput, 'ids' | 'records' | 'events' | 'executions'>> {
  const records = await readRecords(queue, ids);
  const events = await readTerminalEvents(queue.ctx);
  return { ids, records, events, executions: readExecLog(execLog) };
}
