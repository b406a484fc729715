/**
 * Reading jobs back: `list()` pages, `statistics()` counts, and locating a job
 * that has no record yet (published by a bare NATS client).
 *
 * Pending and delayed jobs are read from their streams (the truth for what
 * waits). Other states are found through the events stream, which keeps every
 * transition on a subject per type, priority and state, and each hit is checked
 * against the job record, so a page is O(limit), not O(jobs retained).
 * Counts come from per-subject stream totals and consumer info: O(subjects).
 */
import type { StoredMsg } from '@nats-io/jetstream';
import type { CoreContext } from './context.js';
import { JobValidationError } from './errors.js';
import { JOB_STATES, PRIORITIES, type Job, type JobState, type Priority } from './job.js';
import { newRecord } from './records.js';
import { V1_ID_TOKEN } from './names.js';
import { validatePriority, validateType } from './schedule-options.js';
import { decodeJobMessage, decodeJson, Hdr, type JobEvent } from './wire.js';
import {
  directGet,
  MAX_BATCH,
  nextMessages,
  readQueueCoverage,
  readRecords,
} from './batch-reads.js';

/** Which jobs `JobQueue.list()` returns. */
export interface JobFilter {
  /** Only jobs in this state; `failed` is an alias of `dead`. */
  status?: JobState | 'failed';
  /** Only jobs of this type. */
  type?: string;
  /** Only jobs of this priority. */
  priority?: Priority;
  /** Page size. @default 100, at most 1000 */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

/** One page of `JobQueue.list()`. */
export interface JobPage {
  /** Up to `limit` jobs, in the order of their stream messages; a short page may still have a `nextCursor`. */
  jobs: Job[];
  /** Pass back as `cursor` for the next page; absent on the last page. */
  nextCursor?: string;
}

/** Counts for one queue (or a sum of queues). */
export interface QueueStats {
  /** Waiting to be delivered to a worker. */
  pending: number;
  /** Scheduled for later. */
  delayed: number;
  /** Delivered and not yet acknowledged: running, or waiting for a retry. */
  running: number;
  /** Terminal and failure counts over the events retention window. */
  succeeded: number;
  /** Failed attempts (each retry and each death). */
  failed: number;
  /** Failed attempts that were retried, over the events retention window. */
  retrying: number;
  /** Jobs that died, over the events retention window. */
  dead: number;
  /** Jobs cancelled, over the events retention window. */
  cancelled: number;
  /** Messages in the jobs stream for this queue (pending plus in flight). */
  queueSize: number;
  /** Messages in the dead letter queue. */
  dlq: number;
}

/**
 * What `JobQueue.statistics()` returns: counts per state and queue depth per
 * type and priority.
 */
export interface Statistics {
  /** Counts summed over every type and priority. */
  total: QueueStats;
  /**
   * Per job type: its sums, and its counts per priority (`dlq` is counted per
   * type only, so it stays 0 in `byPriority`).
   */
  byType: Record<string, { total: QueueStats; byPriority: Partial<Record<Priority, QueueStats>> }>;
  /** ms since the epoch. */
  generatedAt: number;
}

function emptyStats(): QueueStats {
  return {
    pending: 0,
    delayed: 0,
    running: 0,
    succeeded: 0,
    failed: 0,
    retrying: 0,
    dead: 0,
    cancelled: 0,
    queueSize: 0,
    dlq: 0,
  };
}

/** A job view built from a stream message, for jobs without a record. */
function jobFromMessage(ctx: CoreContext, m: StoredMsg, state: JobState): Job | undefined {
  const d = decodeJobMessage(ctx.names, m.subject, m.header, m.data, m.seq);
  if (!d.ok) return undefined;
  const created = d.job.createdAt ?? m.time.getTime();
  return newRecord(
    {
      id: d.job.id,
      type: d.job.type,
      priority: d.job.priority,
      payload: d.job.payload,
      maxRetries: d.job.maxRetries ?? 3,
      timeoutMs: d.job.timeoutMs ?? 300_000,
      createdAt: created,
      runAt: d.job.runAt ?? created,
      attempts: d.job.attempts,
      parent: d.job.parent,
      location: {
        stream:
          m.subject.split('.')[1] === 'delayed' ? ctx.names.delayedStream : ctx.names.jobsStream,
        seq: m.seq,
      },
    },
    state,
    created,
  );
}

function parseCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 1;
  if (!/^\d+$/.test(cursor))
    throw new JobValidationError('cursor', 'not a cursor returned by list()');
  return Number(cursor);
}

export async function listJobs(ctx: CoreContext, filter: JobFilter): Promise<JobPage> {
  const status = filter.status === 'failed' ? 'dead' : filter.status;
  if (status !== undefined && !JOB_STATES.includes(status)) {
    throw new JobValidationError(
      'status',
      `${JSON.stringify(status)} is not one of ${JOB_STATES.join(', ')}, failed`,
    );
  }
  const type = filter.type === undefined ? '*' : validateType(filter.type);
  const priority = filter.priority === undefined ? '*' : validatePriority(filter.priority);
  const limit = filter.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new JobValidationError('limit', `${String(limit)} must be an integer in [1, 1000]`);
  }
  let seq = parseCursor(filter.cursor);
  const fromStream = status === 'pending' || status === 'delayed';
  const stream =
    status === 'pending'
      ? ctx.names.jobsStream
      : status === 'delayed'
        ? ctx.names.delayedStream
        : ctx.names.eventsStream;
  const subject =
    status === 'pending'
      ? ctx.names.jobFilter(type, priority)
      : status === 'delayed'
        ? ctx.names.delayedSubject(type, priority)
        : ctx.names.eventSubject(type, priority, status ?? '*');
  const jobs: Job[] = [];
  const seen = new Set<string>();
  // Bound the work of one page when most hits are stale (state moved on).
  let budget = limit * 20 + 100;
  while (jobs.length < limit && budget > 0) {
    // Each message gives at most one job: never read past what the page needs,
    // so the cursor can follow the last message read.
    const msgs = await nextMessages(
      ctx,
      stream,
      seq,
      subject,
      Math.min(limit - jobs.length, budget),
    );
    if (msgs.length === 0) return { jobs };
    budget -= msgs.length;
    seq = (msgs[msgs.length - 1] as StoredMsg).seq + 1;
    const hits: { id: string; fallback?: Job }[] = [];
    for (const m of msgs) {
      let id: string;
      let fallback: Job | undefined;
      if (fromStream) {
        fallback = jobFromMessage(ctx, m, status);
        if (!fallback) continue;
        id = fallback.id;
      } else {
        const ev = decodeJson<JobEvent>(m.data);
        if (status === undefined && ev.state !== 'pending' && ev.state !== 'delayed') continue;
        id = ev.id;
      }
      if (seen.has(id)) continue;
      seen.add(id);
      hits.push({ id, fallback });
    }
    const records = await readRecords(
      ctx,
      hits.map((h) => h.id),
    );
    // A waiting job without a record (v2) is its own message.
    const unrecorded = fromStream ? [] : hits.filter((h) => !records.has(h.id));
    const own = await Promise.all(
      unrecorded.map((h) => directGet(ctx, ctx.names.jobsStream, 1, ctx.names.jobIdFilter(h.id))),
    );
    unrecorded.forEach((h, i) => {
      const m = own[i];
      if (m) h.fallback = jobFromMessage(ctx, m, 'pending');
    });
    for (const { id, fallback } of hits) {
      const job = records.get(id) ?? fallback;
      if (!job) continue;
      if (status !== undefined && job.state !== status) continue;
      jobs.push(job);
    }
  }
  return { jobs, nextCursor: String(seq) };
}

/** Find a job with no record by scanning the waiting streams (bounded). */
export async function locateJob(
  ctx: CoreContext,
  id: string,
  scanLimit = 10_000,
): Promise<Job | undefined> {
  const bySeq = /^s(\d+)$/.exec(id);
  if (bySeq) {
    const m = await directGet(ctx, ctx.names.jobsStream, Number(bySeq[1]), ctx.names.jobsWildcard);
    if (m && m.seq === Number(bySeq[1]) && !m.header?.get(Hdr.JobId) && !m.header?.get(Hdr.MsgId)) {
      return jobFromMessage(ctx, m, 'pending');
    }
  }
  // A job on its own subject (v2) is one direct get away.
  const own = await directGet(ctx, ctx.names.jobsStream, 1, ctx.names.jobIdFilter(id));
  if (own) return jobFromMessage(ctx, own, 'pending');
  // Else scan what v1 producers published (stored with a `_` id token).
  for (const [stream, subject, state] of [
    [ctx.names.jobsStream, `${ctx.names.jobSubject('*', '*')}.${V1_ID_TOKEN}`, 'pending'],
    [ctx.names.delayedStream, ctx.names.delayedWildcard, 'delayed'],
  ] as const) {
    let seq = 1;
    for (let left = scanLimit; left > 0;) {
      const msgs = await nextMessages(ctx, stream, seq, subject, Math.min(left, MAX_BATCH));
      if (msgs.length === 0) break;
      left -= msgs.length;
      seq = (msgs[msgs.length - 1] as StoredMsg).seq + 1;
      for (const m of msgs) {
        const h = m.header;
        if (h?.get(Hdr.JobId) === id || (!h?.get(Hdr.JobId) && h?.get(Hdr.MsgId) === id)) {
          return jobFromMessage(ctx, m, state);
        }
      }
    }
  }
  return undefined;
}

async function subjectCounts(
  ctx: CoreContext,
  stream: string,
  filter: string,
): Promise<Record<string, number>> {
  const info = await ctx.jsm.streams.info(stream, { subjects_filter: filter });
  return info.state.subjects ?? {};
}

export async function statistics(ctx: CoreContext): Promise<Statistics> {
  const { names } = ctx;
  const byType: Statistics['byType'] = {};
  const total = emptyStats();
  const cell = (type: string, prio: string): QueueStats | undefined => {
    if (!(PRIORITIES as readonly string[]).includes(prio)) return undefined;
    const t = (byType[type] ??= { total: emptyStats(), byPriority: {} });
    return (t.byPriority[prio as Priority] ??= emptyStats());
  };
  const add = (
    type: string,
    prio: string | undefined,
    field: keyof QueueStats,
    n: number,
  ): void => {
    if (prio !== undefined) {
      const c = cell(type, prio);
      if (!c) return;
      c[field] += n;
    }
    const t = (byType[type] ??= { total: emptyStats(), byPriority: {} });
    t.total[field] += n;
    total[field] += n;
  };
  const [delayed, events, dlq, coverage] = await Promise.all([
    subjectCounts(ctx, names.delayedStream, names.delayedWildcard),
    subjectCounts(ctx, names.eventsStream, names.eventsWildcard),
    subjectCounts(ctx, names.dlqStream, names.dlqWildcard),
    readQueueCoverage(ctx),
  ]);
  // Waiting jobs are counted by their consumers (one per type and priority).
  // Job subjects are per job (v2), so the stream's subject counts are
  // O(waiting jobs): read them only when the consumers leave messages out
  // (a type no worker has started yet), and only for those queues.
  const queues = new Map<string, { type: string; priority: string; n: number }>();
  const consumers = new Map<string, { pending: number; inFlight: number }>();
  for (const ci of coverage.consumers) {
    const f = ci.config.filter_subject;
    const p = f ? names.parseJobSubject(f) : undefined;
    if (!f || !p) continue;
    consumers.set(f, { pending: ci.num_pending, inFlight: ci.num_ack_pending });
    queues.set(f, { type: p.type, priority: p.priority, n: ci.num_pending + ci.num_ack_pending });
  }
  if (coverage.messages > coverage.covered) {
    for (const [subject, n] of Object.entries(
      await subjectCounts(ctx, names.jobsStream, names.jobsWildcard),
    )) {
      const p = names.parseJobSubject(subject);
      if (!p) continue;
      const filter = names.jobFilter(p.type, p.priority as Priority);
      if (consumers.has(filter)) continue;
      const q = queues.get(filter) ?? { type: p.type, priority: p.priority, n: 0 };
      q.n += n;
      queues.set(filter, q);
    }
  }
  for (const [filter, q] of queues) {
    if (q.n === 0 && !consumers.get(filter)?.inFlight) continue;
    add(q.type, q.priority, 'queueSize', q.n);
    const c = consumers.get(filter);
    add(q.type, q.priority, 'pending', c ? c.pending : q.n);
    if (c) add(q.type, q.priority, 'running', c.inFlight);
  }
  for (const [subject, n] of Object.entries(delayed)) {
    const p = names.parseJobSubject(subject);
    if (p) add(p.type, p.priority, 'delayed', n);
  }
  for (const [subject, n] of Object.entries(events)) {
    const parts = subject.split('.');
    const [type, prio, state] = [parts[2] ?? '', parts[3] ?? '', parts[4] ?? ''];
    if (
      state === 'succeeded' ||
      state === 'dead' ||
      state === 'cancelled' ||
      state === 'retrying'
    ) {
      add(type, prio, state, n);
    }
    if (state === 'retrying' || state === 'dead') add(type, prio, 'failed', n);
  }
  for (const [subject, n] of Object.entries(dlq)) {
    const type = subject.split('.')[2];
    if (type) add(type, undefined, 'dlq', n);
  }
  return { total, byType, generatedAt: Date.now() };
}
