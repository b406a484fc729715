/**
 * `JobQueue`: the producer and admin client. Schedules jobs durably, reads
 * their records, cancels and retries them, and reports statistics.
 *
 * @example
 * ```ts
 * const queue = await JobQueue.connect({ servers: 'nats://127.0.0.1:4222' });
 * const id = await queue.schedule('replication', { bucket: 'b', key: 'k' }, { priority: 'high' });
 * console.log(await queue.get(id));
 * await queue.close();
 * ```
 */
import type { MsgHdrs, NatsConnection } from '@nats-io/nats-core';
import { connectNats, type ConnectOptions } from './connection.js';
import { openContext, publishEvent, type CoreContext } from './context.js';
import { publishOutcomeEvent } from './outcome-events.js';
import {
  RfwError,
  ConnectionLostError,
  InvalidStateError,
  JobNotFoundError,
  JobValidationError,
  PayloadTooLargeError,
} from './errors.js';
import {
  TERMINAL_STATES,
  type FlowSummary,
  type Job,
  type JobState,
  type Priority,
} from './job.js';
import {
  listJobs,
  locateJob,
  statistics,
  type JobFilter,
  type JobPage,
  type Statistics,
} from './job-listing.js';
import { mapPublishError } from './nats-errors.js';
import type { ProvisionOptions } from './provision.js';
import { addTransition, compiledRecord } from './records.js';
import {
  compileSchedule,
  validateId,
  type CompiledJob,
  type ScheduleOptions,
} from './schedule-options.js';
import { Hdr, copyHeaders, encodeJobHeaders, encodeJson } from './wire.js';
import { enqueueSpan, retrySpan } from './job-spans.js';
import { OutcomeWaiters, checkWaitOptions, type WaitOptions } from './outcome-waiters.js';
import { Schedules } from './schedule-store.js';
import { failSpan, injectSpan } from './tracing.js';
import {
  getDeadLetterMessage,
  listDeadLetters,
  purgeDeadLetters,
  type DeadLetterPage,
} from './dead-letters.js';
import { pausedKey, type PauseRecord } from './cluster-wire.js';
import { validateType } from './schedule-options.js';
import { bucketKeys } from './kv-keys.js';
import {
  compileFlow,
  flowIds,
  type CompiledFlow,
  type FlowJob,
  type FlowNode,
} from './flow-options.js';
import { cancelChildren, createWaitingParent, withFlowCounts } from './flow-enqueue.js';
import {
  endedTotal,
  readChildEndings,
  recordChildEnding,
  settleParent,
  type ChildEnding,
} from './flow-state.js';

/** Options of `JobQueue.connect()`. */
export interface JobQueueOptions extends ConnectOptions {
  /** Use this connection instead of opening one; `close()` then leaves it open. */
  connection?: NatsConnection;
  /** Names prefix of the installation. @default 'rfw' */
  prefix?: string;
  /** Stream and bucket settings, applied idempotently on connect. */
  provision?: ProvisionOptions;
}

/** One item of `scheduleMany()`. */
export interface ScheduleRequest {
  /** The job type, as for `schedule()`. */
  type: string;
  /** The payload, as for `schedule()`: any JSON-serialisable value. */
  payload: unknown;
  /** Options, as for `schedule()`. */
  options?: ScheduleOptions;
}

/**
 * One result of `scheduleMany()`: the id (and whether it was a duplicate that
 * enqueued nothing), or the typed error of that item.
 */
export type ScheduleResult = ({ ok: true } & Enqueued) | { ok: false; error: Error };

/** What `enqueue()` answers: the job's id, and whether the call was a duplicate. */
export interface Enqueued {
  /** The job's id: the existing job's for a duplicate. */
  id: string;
  /** True when a job with that id or unique key existed: nothing was enqueued. */
  duplicate: boolean;
}

/** Room kept for headers and subject when checking against `max_payload`. */
const HEADER_ALLOWANCE = 512;

/**
 * The producer and admin client: schedules jobs durably, reads their records,
 * lists, cancels and retries them, and reports statistics. Create with
 * `JobQueue.connect()`; `close()` when done.
 */
export class JobQueue implements AsyncDisposable {
  #closing?: Promise<void>;
  #waiters?: OutcomeWaiters;
  #schedules?: Schedules;

  private constructor(
    /** The connection, JetStream clients, names and record store this queue uses. */
    readonly ctx: CoreContext,
    private readonly ownsConnection: boolean,
  ) {}

  /** Connect (or adopt `connection`) and provision streams and buckets. */
  static async connect(options: JobQueueOptions = {}): Promise<JobQueue> {
    const nc = options.connection ?? (await connectNats({ name: 'rfw-jobqueue', ...options }));
    try {
      const ctx = await openContext(nc, options.prefix, options.provision);
      return new JobQueue(ctx, !options.connection);
    } catch (err) {
      if (!options.connection) await nc.close();
      throw err;
    }
  }

  /**
   * Schedule a job. Resolves with its id once the job is durably stored.
   * Throws `JobValidationError` (naming the field), `PayloadTooLargeError`,
   * `QueueFullError` or `ConnectionLostError`; on any error nothing is enqueued.
   */
  async schedule(type: string, payload: unknown, options: ScheduleOptions = {}): Promise<string> {
    return (await this.enqueue(type, payload, options)).id;
  }

  /**
   * `schedule()`, answering whether it was a duplicate: `{ id, duplicate }`,
   * where a duplicate (an `id` or `unique` key whose job is pending, delayed or
   * running, or finished within `unique.periodMs`) enqueued nothing and `id`
   * is the existing job's. Throws what `schedule()` throws.
   */
  async enqueue(type: string, payload: unknown, options: ScheduleOptions = {}): Promise<Enqueued> {
    const job = compileSchedule(type, payload, options);
    this.checkSize(job);
    return this.storeTyped(job);
  }

  /** Every failure of an enqueue surfaces as one of this project's typed errors. */
  private async storeTyped(job: CompiledJob): Promise<Enqueued> {
    try {
      return await this.store(job);
    } catch (err) {
      if (err instanceof RfwError) throw err;
      throw mapPublishError(err, this.ctx.names.jobSubject(job.type, job.priority));
    }
  }

  /**
   * Schedule many jobs, pipelining the publishes. Each item succeeds or fails
   * on its own; results are in input order.
   * @param concurrency publishes in flight at once. @default 256
   */
  async scheduleMany(
    jobs: readonly ScheduleRequest[],
    concurrency = 256,
  ): Promise<ScheduleResult[]> {
    const results: ScheduleResult[] = new Array<ScheduleResult>(jobs.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < jobs.length) {
        const i = next++;
        const req = jobs[i] as ScheduleRequest;
        try {
          const job = compileSchedule(req.type, req.payload, req.options);
          this.checkSize(job);
          results[i] = { ok: true, ...(await this.storeTyped(job)) };
        } catch (error) {
          results[i] = { ok: false, error: error as Error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
    return results;
  }

  private checkSize(job: CompiledJob): void {
    const max = this.ctx.nc.info?.max_payload ?? 1024 * 1024;
    const size = job.body.length + HEADER_ALLOWANCE;
    if (size > max) throw new PayloadTooLargeError(job.body.length, max - HEADER_ALLOWANCE);
  }

  private async store(job: CompiledJob): Promise<Enqueued> {
    const { ctx } = this;
    if (ctx.nc.isClosed()) throw new ConnectionLostError();
    const delayed = job.runAt > Date.now();
    const state: JobState = delayed ? 'delayed' : 'pending';
    const record = (location?: { stream: string; seq: number }): Job =>
      compiledRecord(job, state, { location });
    // An explicit id that exists and is not finished is already enqueued: nothing to do.
    // One whose job finished runs again: its record is replaced *before* the publish,
    // so no worker can see the old terminal record and skip the new run.
    let rerun: { previous: Job; revision: number } | undefined;
    if (job.explicitId) {
      const existing = await ctx.records.get(job.id);
      if (existing && !TERMINAL_STATES.has(existing.job.state))
        return { id: job.id, duplicate: true };
      // Unique for a period after it finished: still a duplicate.
      if (
        existing &&
        job.uniquePeriodMs &&
        existing.job.updatedAt + job.uniquePeriodMs > Date.now()
      )
        return { id: job.id, duplicate: true };
      if (existing) {
        const revision = await ctx.records.update(record(), existing.revision);
        // Another producer re-ran it just now.
        if (revision === undefined) return { id: job.id, duplicate: true };
        rerun = { previous: existing.job, revision };
      }
    }
    // A job with a generated id is one stored write: its message, on its own
    // subject, is its pending record (wire format v2); the first worker or
    // canceller to end it writes the record. Delayed jobs and explicit ids
    // keep a record from the start (the scheduler releases, and dedupe by id
    // must outlive the stream's duplicate window).
    const recordless = !delayed && !job.explicitId;
    const subject = delayed
      ? ctx.names.delayedSubject(job.type, job.priority)
      : recordless
        ? ctx.names.jobMessageSubject(job.type, job.priority, job.id)
        : ctx.names.jobSubject(job.type, job.priority);
    const headers = encodeJobHeaders({
      id: job.id,
      maxRetries: job.maxRetries,
      timeoutMs: job.timeoutMs,
      createdAt: job.createdAt,
      runAt: delayed ? job.runAt : undefined,
      backoff: job.backoff,
      parent: job.parent,
    });
    // A re-run needs its own dedupe id: the first run's may still be in the window.
    const msgID = rerun ? `${job.id}.rerun.${rerun.revision}` : job.id;
    const span = enqueueSpan(job, subject, state);
    injectSpan(headers, span);
    let ack;
    try {
      ack = await ctx.js.publish(subject, job.body, { msgID, headers });
    } catch (err) {
      if (rerun) await ctx.records.update(rerun.previous, rerun.revision).catch(() => undefined);
      const mapped = mapPublishError(err, subject);
      failSpan(span, mapped);
      throw mapped;
    }
    span.end();
    if (!recordless) {
      // A duplicate ack is a retry of a schedule whose publish landed but whose
      // answer or record write was lost: write the record it is missing (a
      // record another producer wrote meanwhile is kept: create never replaces).
      const located = record({ stream: ack.stream, seq: ack.seq });
      if (rerun) await ctx.records.update(located, rerun.revision);
      else await ctx.records.create(located);
    }
    if (ack.duplicate) return { id: job.id, duplicate: true };
    publishEvent(ctx, {
      id: job.id,
      type: job.type,
      priority: job.priority,
      state,
      at: job.createdAt,
    });
    return { id: job.id, duplicate: false };
  }

  /** The job, or `undefined` when no such job exists (or its record was purged). */
  async get(id: string): Promise<Job | undefined> {
    validateId(id);
    const rec = await this.ctx.records.get(id);
    if (rec) return rec.job.flow ? withFlowCounts(this.ctx, rec.job) : rec.job;
    const found = await locateJob(this.ctx, id);
    if (found) return found;
    // A worker may have finished the job while the scan ran: it writes the
    // record before its ack removes the message, so a second read sees it.
    // (Without it, a careful client retrying `schedule()` re-ran finished jobs.)
    return (await this.ctx.records.get(id))?.job;
  }

  /**
   * Wait for a job's outcome: resolves with its record once it `succeeded`;
   * rejects with `JobFailedError` (it died), `JobCancelledError`,
   * `WaitTimeoutError` (`timeout` ms passed), `WaitAbortedError` (`signal`
   * fired) or `JobNotFoundError`. The job itself is not touched by a timeout
   * or an abort. No polling: one core subscription per job type, shared by the
   * queue's waiters; an outcome reached before the call is returned at once.
   */
  async waitFor(id: string, options: WaitOptions = {}): Promise<Job> {
    validateId(id);
    checkWaitOptions(options);
    return this.#outcomes().wait(id, options);
  }

  /**
   * `schedule()` then `waitFor()` its outcome: `options` are `schedule()`'s
   * (their `timeout` is the handler's), `wait` are `waitFor()`'s (a wait's
   * timeout or abort leaves the job enqueued). Throws what either throws; the
   * wait's options are checked before anything is enqueued.
   */
  async scheduleAndWait(
    type: string,
    payload: unknown,
    options: ScheduleOptions = {},
    wait: WaitOptions = {},
  ): Promise<Job> {
    checkWaitOptions(wait);
    const job = compileSchedule(type, payload, options);
    this.checkSize(job);
    const { id } = await this.storeTyped(job);
    return this.#outcomes().wait(id, wait, job.type);
  }

  #outcomes(): OutcomeWaiters {
    return (this.#waiters ??= new OutcomeWaiters(this.ctx, (id) => this.get(id)));
  }

  /** List jobs, filtered, one page at a time. */
  async list(filter: JobFilter = {}): Promise<JobPage> {
    return listJobs(this.ctx, filter);
  }

  /**
   * Enqueue a flow: a job that runs once the jobs it waits for (its children,
   * nested to any depth) have ended, each child's failure handled by its
   * `onFailure` (`fail`: the parent ends `dead` at once; `continue`: the
   * parent runs and reads the failure; `ignore`: it runs without it). The
   * parent's handler reads its children's results with `ctx.children()`.
   * Children are enqueued first, pipelined, then each parent's record
   * (`waiting`); a flow cut short by an error or a crash is completed by
   * calling `flow()` again with the same root `options.id`. Resolves with the
   * tree of ids (children are `<parent>-<index>`); `duplicate` when a job
   * with the root's id exists and is not this flow still waiting. Throws
   * `JobValidationError` naming the node (`children[3].priority`) and what
   * `schedule()` throws.
   */
  async flow(root: FlowJob): Promise<FlowNode & { duplicate: boolean }> {
    const compiled = compileFlow(root);
    const ids = flowIds(compiled);
    const leaves: CompiledJob[] = [];
    const parents: CompiledFlow[] = [];
    const walk = (f: CompiledFlow): void => {
      if (!f.children.length) leaves.push(f.job);
      else {
        f.children.forEach(walk);
        parents.push(f);
      }
    };
    walk(compiled);
    for (const j of leaves) this.checkSize(j);
    if (!parents.length) return { ...ids, ...(await this.storeTyped(compiled.job)) };
    if (compiled.job.explicitId) {
      const existing = await this.ctx.records.get(compiled.job.id);
      const sameFlow =
        existing?.job.state === 'waiting' &&
        existing.job.flow?.children === compiled.children.length;
      if (existing && !sameFlow) return { ...ids, duplicate: true };
    }
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < leaves.length) await this.storeTyped(leaves[next++] as CompiledJob);
    };
    await Promise.all(Array.from({ length: Math.min(256, leaves.length) }, lane));
    // Bottom-up: a parent's record after its children's, each settled at once
    // (its children may all have ended already).
    for (const p of parents) {
      await createWaitingParent(this.ctx, p.job, p.children.length);
      await settleParent(this.ctx, p.job.id, p.children.length, 'flow()');
    }
    return { ...ids, duplicate: false };
  }

  /**
   * Enqueue a batch: `jobs`, and a `callback` job that runs once every one of
   * them ended, however it ended (a flow whose children all have
   * `onFailure: 'continue'`). The callback's handler reads the outcomes with
   * `ctx.children()` (`succeeded`, `failed`); `get(callbackId).flow` counts
   * them meanwhile. Resolves as `flow()` does (the callback's id, the jobs'
   * ids `<callback>-<index>`); errors name the item (`jobs[2].options.priority`,
   * `callback.type`).
   */
  async batch(
    jobs: readonly ScheduleRequest[],
    callback: { type: string; payload: unknown; options?: FlowJob['options'] },
  ): Promise<FlowNode & { duplicate: boolean }> {
    if (!Array.isArray(jobs) || jobs.length === 0)
      throw new JobValidationError('jobs', 'must be a non-empty array');
    try {
      return await this.flow({
        ...callback,
        children: jobs.map((j) => ({ ...j, onFailure: 'continue' as const })),
      });
    } catch (err) {
      if (!(err instanceof JobValidationError)) throw err;
      const f = err.field.startsWith('children')
        ? err.field.replace(/^children/, 'jobs')
        : `callback.${err.field}`;
      throw new JobValidationError(f, err.reason);
    }
  }

  /**
   * A flow parent's children: its summary (children, and how many ended in
   * each state) and every ended child's ending (state, result or error), in
   * the order they ended. Throws `JobNotFoundError`, or `InvalidStateError`
   * for a job that is not a flow's parent.
   */
  async children(id: string): Promise<{ flow: FlowSummary; endings: ChildEnding[] }> {
    validateId(id);
    const job = await this.get(id);
    if (!job) throw new JobNotFoundError(id);
    if (!job.flow)
      throw new InvalidStateError(id, `${job.state}, not a flow's parent`, 'list the children of');
    // `get()` counted them just now.
    const endings = await readChildEndings(this.ctx, id, endedTotal(job.flow));
    return { flow: job.flow, endings: [...endings.values()] };
  }

  /** Counts per type and priority, and in total. */
  async statistics(): Promise<Statistics> {
    return statistics(this.ctx);
  }

  /**
   * Cancel a job. A pending or delayed job is removed so no worker runs it; a
   * running job's handler is signalled and the job ends `cancelled`.
   * Throws `JobNotFoundError`, or `InvalidStateError` for a finished job.
   */
  async cancel(id: string): Promise<Job> {
    validateId(id);
    const { ctx } = this;
    if (!(await ctx.records.get(id))) {
      // A job published by a bare NATS client has no record until a worker takes it.
      const found = await locateJob(ctx, id);
      if (!found) throw new JobNotFoundError(id);
      await ctx.records.create(found);
    }
    let before: Job | undefined;
    const now = Date.now();
    const res = await ctx.records.mutate(id, (cur) => {
      if (!cur) throw new JobNotFoundError(id);
      before = cur;
      if (cur.state === 'cancelled') return undefined;
      if (TERMINAL_STATES.has(cur.state)) throw new InvalidStateError(id, cur.state, 'cancel');
      // The message it ends names its terminal event (see `outcomeEventId`).
      const seq = cur.location?.seq;
      return addTransition({ ...cur, location: undefined }, { state: 'cancelled', at: now, seq });
    });
    const job = res?.job as Job;
    if (before && before.state !== 'cancelled') {
      if (before.location) {
        await ctx.jsm.streams
          .deleteMessage(before.location.stream, before.location.seq, false)
          .catch(() => false);
      }
      // Whoever runs or holds the job aborts it.
      ctx.nc.publish(ctx.names.controlSubject('cancel', job.type), encodeJson({ id }));
    }
    // Also when it was cancelled already: a cancel retried after the event
    // failed stores it then (the stream drops a second copy).
    const last = job.history[job.history.length - 1];
    const subject = ctx.names.eventSubject(job.type, job.priority, 'cancelled');
    try {
      await publishOutcomeEvent(
        ctx,
        { id, type: job.type, priority: job.priority, state: 'cancelled', at: last?.at ?? now },
        last?.seq ?? `h${job.history.length}`,
      );
    } catch (err) {
      throw mapPublishError(err, subject);
    }
    // A child's ending counts for its flow; a parent cancelled while it
    // waited takes its children that have not ended with it.
    await recordChildEnding(ctx, job);
    if (job.flow && job.history[job.history.length - 2]?.state === 'waiting')
      await cancelChildren(job, (child) => this.cancel(child));
    return job;
  }

  /**
   * Send a dead or cancelled job back to pending, with a fresh retry budget and
   * its history kept. Throws `JobNotFoundError` or `InvalidStateError`.
   */
  async retry(id: string): Promise<Job> {
    validateId(id);
    const { ctx } = this;
    const now = Date.now();
    let previous: Job | undefined;
    const res = await ctx.records.mutate(id, (cur) => {
      if (!cur) throw new JobNotFoundError(id);
      if (cur.state !== 'dead' && cur.state !== 'cancelled')
        throw new InvalidStateError(id, cur.state, 'retry');
      previous = cur;
      return addTransition(
        { ...cur, attempts: 0, deadReason: undefined, location: undefined },
        { state: 'pending', at: now },
      );
    });
    const job = res?.job as Job;
    const subject = ctx.names.jobSubject(job.type, job.priority);
    const headers = encodeJobHeaders({
      id,
      maxRetries: job.maxRetries,
      timeoutMs: job.timeoutMs,
      createdAt: job.createdAt,
      backoff: job.backoff,
    });
    let body = encodeJson(job.payload);
    let publishSubject = subject;
    let deadHeaders: MsgHdrs | undefined;
    const fromDlq =
      previous?.location?.stream === ctx.names.dlqStream ? previous.location : undefined;
    if (fromDlq) {
      // Republish exactly what was dead-lettered (a poison body included), so a
      // fixed worker sees the original bytes.
      const dead = await getDeadLetterMessage(ctx, fromDlq.seq);
      if (dead) {
        deadHeaders = dead.header;
        body = dead.data;
        // The job keeps its record: back on a v1 subject (its own subject
        // means "no record yet" to a worker, see `jobMessageSubject`).
        const original = dead.header?.get(Hdr.OriginalSubject);
        const parsed = original ? ctx.names.parseJobSubject(original) : undefined;
        publishSubject =
          parsed?.kind === 'jobs'
            ? ctx.names.jobSubject(parsed.type, parsed.priority as Priority)
            : original || subject;
        // The dead letter's own headers go; the job's stay.
        const h = copyHeaders(dead.header, [
          Hdr.DeadReason,
          Hdr.LastError,
          Hdr.OriginalSubject,
          Hdr.Attempts,
          Hdr.MsgId,
        ]);
        h.set(Hdr.JobId, id);
        for (const [k, values] of h) headers.set(k, values[0] ?? '');
      }
    }
    // A new trace, linked to the dead letter's: the retry is its own story.
    const span = retrySpan(job, publishSubject, deadHeaders);
    injectSpan(headers, span);
    try {
      const ack = await ctx.js.publish(publishSubject, body, {
        msgID: `${id}.retry.${res?.revision ?? now}`,
        headers,
      });
      span.end();
      const located = { ...job, location: { stream: ack.stream, seq: ack.seq } };
      if (res) await ctx.records.update(located, res.revision);
      if (fromDlq)
        await ctx.jsm.streams.deleteMessage(fromDlq.stream, fromDlq.seq, false).catch(() => false);
      publishEvent(ctx, { id, type: job.type, priority: job.priority, state: 'pending', at: now });
      return located;
    } catch (err) {
      // Put the record back as it was so the retry can be asked again.
      if (previous && res) await ctx.records.update(previous, res.revision).catch(() => undefined);
      const mapped = mapPublishError(err, publishSubject);
      failSpan(span, mapped);
      throw mapped;
    }
  }

  /** Dead letters, oldest first, optionally of one type. */
  async listDeadLetters(
    filter: { type?: string; limit?: number; cursor?: string } = {},
  ): Promise<DeadLetterPage> {
    return listDeadLetters(this.ctx, filter);
  }

  /**
   * Retry dead jobs: one by id, or every dead letter of a type (or of all
   * types). Resolves with the ids sent back to pending.
   */
  async retryDeadLetters(which: { id: string } | { type?: string }): Promise<string[]> {
    if ('id' in which) return [(await this.retry(which.id)).id];
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listDeadLetters(this.ctx, { type: which.type, limit: 500, cursor });
      for (const d of page.deadLetters) {
        try {
          ids.push((await this.retry(d.id)).id);
        } catch (err) {
          if (!(err instanceof InvalidStateError) && !(err instanceof JobNotFoundError)) throw err;
        }
      }
      cursor = page.nextCursor;
    } while (cursor);
    return ids;
  }

  /** Delete dead letters of a type (or all). Resolves with how many. */
  async purgeDeadLetters(type?: string): Promise<number> {
    return purgeDeadLetters(this.ctx, type);
  }

  /**
   * Periodic (cron and interval) schedules stored in NATS: add, update, pause,
   * resume, remove, list, and list next fire times. The scheduler service's
   * leader applies a change within a moment, without a restart.
   */
  get schedules(): Schedules {
    return (this.#schedules ??= new Schedules(this.ctx));
  }

  /** Pause a job type cluster-wide; persisted, so restarted workers stay paused. */
  async pause(type: string, by?: string): Promise<void> {
    validateType(type);
    const rec: PauseRecord = { paused: true, at: Date.now(), by };
    await this.ctx.control.put(pausedKey(type), encodeJson(rec));
  }

  /** Resume a paused job type cluster-wide (deletes its pause switch); a type not paused is left as it is. */
  async resume(type: string): Promise<void> {
    validateType(type);
    await this.ctx.control.delete(pausedKey(type));
  }

  /** Types paused now. */
  async pausedTypes(): Promise<string[]> {
    const out: string[] = [];
    for (const k of await bucketKeys(this.ctx.control, 'paused.>')) {
      const e = await this.ctx.control.get(k);
      if (e?.operation === 'PUT') out.push(k.slice('paused.'.length));
    }
    return out.sort();
  }

  /** Close the queue (and its connection, if it opened one). Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#waiters?.close();
      if (this.ownsConnection && !this.ctx.nc.isClosed()) {
        try {
          await this.ctx.nc.drain();
        } catch {
          await this.ctx.nc.close();
        }
      }
    })();
    return this.#closing;
  }

  /** Same as `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

export type { Priority };
