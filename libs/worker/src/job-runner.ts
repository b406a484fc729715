/**
 * One attempt of one job, from the message to its outcome: decode and
 * validate, read the record, run the handler under its timeout and signal,
 * then record the outcome and settle the message (ack, nak with delay, or
 * dead-letter). Every path acks or naks exactly once and never throws.
 */
import type { JsMsg } from '@nats-io/jetstream';
import {
  ConfigError,
  TERMINAL_STATES,
  addTransition,
  decodeJobMessage,
  forgetDecodedHeaders,
  newRecord,
  otelContext,
  recordChildEnding,
  republishOutcome,
  type CoreContext,
  type Job,
  type JobEnvelope,
  type Logger,
} from '@rfw/core/internal';
import { AbortReason, JobAbort } from './abort-reasons.js';
import { Attempt } from './attempt.js';
import {
  finishDead,
  onCancelled,
  onDefer,
  onFailure,
  onShutdown,
  onSuccess,
} from './attempt-outcomes.js';
import type { BackoffOptions } from './backoff.js';
import { isOpenBreakerError, type Breakers } from './breakers.js';
import { deadLetter } from './dead-letter.js';
import type { WorkerMetrics } from './metrics.js';
import {
  DeferError,
  JobTimeoutError,
  NonRetryableError,
  RetryAfterError,
  type JobResult,
  type Worker,
} from './worker.js';
import { JobContext } from './job-context.js';
import { startIsolated, type IsolatedRun } from './isolation/isolated-run.js';
import { isolationOf } from './isolation/options.js';
import type { WriteLimiter } from './write-limiter.js';
import type { RecentCancels } from './recent-cancels.js';
import type { FreshMessages } from './fresh-messages.js';
import type { CompiledWorkerOptions } from './worker-options.js';

/** The breaker key that stands for the whole job type. */
export const TYPE_BREAKER_KEY = '*';

export interface TypeSpec {
  worker: Worker;
  backoff: BackoffOptions;
  maxRetries: number;
  timeoutMs: number;
}

export interface ActiveJob {
  id: string;
  type: string;
  controller: JobAbort;
  startedAt: number;
}

export interface RunnerDeps {
  core: CoreContext;
  opts: CompiledWorkerOptions;
  metrics: WorkerMetrics;
  breakers: Breakers;
  log: Logger;
  /** Jobs running in this instance, by id (for cancellation). */
  running: Map<string, ActiveJob>;
  /** Bounds the `running` record writes in flight (see WriteLimiter). */
  runningWrites: WriteLimiter;
  /** Ids named by cancel requests lately (see RecentCancels). */
  recentCancels: RecentCancels;
  /** Which first deliveries may skip the record read (see FreshMessages). */
  fresh: FreshMessages;
}

type Outcome =
  | { kind: 'success'; output?: unknown; skipped?: string }
  | { kind: 'failure'; error: string; retryable: boolean; retryAfterMs?: number }
  | { kind: 'defer'; delayMs: number; reason: string }
  | { kind: 'cancelled' }
  | { kind: 'shutdown' };

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return typeof err === 'string' ? err : JSON.stringify(err);
}

/**
 * How the handler ended: a value, a throw, abandoned after its grace (in
 * process), or its thread or process killed after its grace (isolated; the
 * text says so).
 */
type Settled = { value: unknown } | { error: unknown } | { abandoned: true } | { killed: string };

function classify(result: JobResult | undefined): Outcome {
  if (result === undefined) return { kind: 'success' };
  switch (result.status) {
    case 'success':
      return { kind: 'success', output: result.output };
    case 'skipped':
      return { kind: 'success', skipped: result.reason ?? 'skipped' };
    case 'failed':
      return { kind: 'failure', error: result.reason, retryable: result.retryable !== false };
    default:
      return {
        kind: 'failure',
        error: `handler returned an invalid JobResult: ${JSON.stringify(result)}`,
        retryable: false,
      };
  }
}

function classifyError(
  err: unknown,
  breakers: Breakers,
  type: string,
  key: string | undefined,
): Outcome {
  if (err instanceof DeferError) return { kind: 'defer', delayMs: err.delayMs, reason: err.reason };
  if (isOpenBreakerError(err)) {
    const k = key ?? TYPE_BREAKER_KEY;
    return {
      kind: 'defer',
      delayMs: breakers.blockedFor(type, k) || 1000,
      reason: `breaker ${k} open`,
    };
  }
  if (err instanceof NonRetryableError)
    return { kind: 'failure', error: errorText(err), retryable: false };
  if (err instanceof RetryAfterError) {
    return { kind: 'failure', error: errorText(err), retryable: true, retryAfterMs: err.delayMs };
  }
  return { kind: 'failure', error: errorText(err), retryable: true };
}

const noop = (): void => undefined;

/**
 * Run one delivery of a job. `onSettled` is called once the handler has
 * settled (or was never started): the caller may start another job while the
 * outcome is recorded and the message settled.
 */
export function runJob(
  deps: RunnerDeps,
  spec: TypeSpec,
  msg: JsMsg,
  onSettled: () => void = noop,
): Promise<void> {
  // (Not an async wrapper: one suspended frame less per running job.)
  return attempt(deps, spec, msg, onSettled).catch((err: unknown) => {
    // Only broker trouble lands here (a record write failed): put it back.
    deps.log.warn(
      { err, subject: msg.subject, seq: msg.seq },
      'job attempt aborted by an infrastructure error',
    );
    try {
      msg.nak(1000);
    } catch {
      // connection gone: the ack wait will redeliver it
    }
  });
}

/** Decode and validate the message; dead-letters a poison one and resolves `undefined`. */
async function decode(
  deps: RunnerDeps,
  spec: TypeSpec,
  msg: JsMsg,
): Promise<{ env: JobEnvelope; payload: unknown } | undefined> {
  const type = spec.worker.workerType;
  const decoded = decodeJobMessage(deps.core.names, msg.subject, msg.headers, msg.data, msg.seq);
  // Decoded once; the cache would stay as long as the job runs.
  forgetDecodedHeaders(msg);
  if (!decoded.ok) {
    await deadLetter(deps, msg, {
      id: decoded.id,
      type,
      priority: decoded.priority,
      reason: `poison message: ${decoded.reason}`,
    });
    return undefined;
  }
  const env = decoded.job;
  if (!spec.worker.schema) return { env, payload: env.payload };
  const r = spec.worker.schema.safeParse(env.payload);
  if (r.success) return { env, payload: r.data };
  await deadLetter(deps, msg, {
    id: env.id,
    type,
    priority: env.priority,
    reason: `poison message: payload fails the ${type} schema: ${r.error.message.slice(0, 1000)}`,
    payload: env.payload,
    // A flow's child that is poison still ends, for its parent.
    parent: env.parent,
  });
  return undefined;
}

/**
 * The job's record, or a new `pending` one for a job published without a
 * record. A fresh first delivery of a job on its own subject (wire format
 * v2) has no record by contract: nothing is read, and the first write
 * creates it (a canceller that wrote one first wins that write; see
 * `Attempt.write`, and `FreshMessages` for what fresh means).
 */
async function readRecord(
  deps: RunnerDeps,
  spec: TypeSpec,
  msg: JsMsg,
  env: JobEnvelope,
  payload: unknown,
): Promise<{ job: Job; rev: number | undefined }> {
  const recordless =
    !msg.info.redelivered &&
    deps.fresh.isFresh(msg.seq) &&
    env.ownSubject &&
    !deps.recentCancels.has(env.id);
  const found = recordless ? undefined : await deps.core.records.get(env.id);
  if (found) return { job: found.job, rev: found.revision };
  const job = newRecord(
    {
      id: env.id,
      type: spec.worker.workerType,
      priority: env.priority,
      payload,
      maxRetries: env.maxRetries ?? spec.maxRetries,
      timeoutMs: env.timeoutMs ?? spec.timeoutMs,
      createdAt: env.createdAt ?? msg.info.timestampNanos / 1e6,
      runAt: env.runAt ?? env.createdAt ?? Date.now(),
      attempts: env.attempts,
      backoff: env.backoff,
      parent: env.parent,
      location: { stream: deps.core.names.jobsStream, seq: msg.seq },
    },
    'pending',
    env.createdAt ?? Date.now(),
  );
  return { job, rev: undefined };
}

async function attempt(
  deps: RunnerDeps,
  spec: TypeSpec,
  msg: JsMsg,
  onSettled: () => void,
): Promise<void> {
  const decoded = await decode(deps, spec, msg);
  if (!decoded) return;
  const { job, rev } = await readRecord(deps, spec, msg, decoded.env, decoded.payload);
  if (TERMINAL_STATES.has(job.state)) {
    // Cancelled before it started, or ended by an earlier delivery of this
    // message whose ack (or event) a crash lost: the event again, then the ack.
    await republishOutcome(deps.core, job, msg.seq);
    await recordChildEnding(deps.core, job);
    msg.ack();
    return;
  }
  const a = new Attempt(deps, spec, msg, job, rev, decoded.env.trace);
  if (a.attemptNo > job.maxRetries + 1) {
    await finishDead(
      a,
      a.attemptNo - 1,
      'attempts exhausted: the last attempt was cut short (worker crash or lost lease)',
      job.lastError,
    );
    return;
  }
  if (deferForBreaker(a, decoded.payload)) return;
  // Returned, not awaited: this frame (the envelope, the record as read) is
  // not kept while the handler runs.
  return run(a, decoded.payload, onSettled);
}

/** An open breaker defers the job without using an attempt. */
function deferForBreaker(a: Attempt, payload: unknown): boolean {
  const { breakers, metrics } = a.deps;
  const keys = [TYPE_BREAKER_KEY, ...(a.spec.worker.breakerKeys?.(payload as never) ?? [])];
  for (const key of keys) {
    const wait = breakers.blockedFor(a.type, key);
    if (wait > 0) {
      metrics.deferred.inc({ type: a.type, reason: 'breaker' });
      a.event({ state: 'deferred', reason: `breaker ${key} open`, retryInMs: wait });
      a.endSpan('deferred', { deferReason: `breaker ${key} open` });
      a.msg.nak(wait);
      return true;
    }
  }
  return false;
}

/** Write the `running` record (once, and only while the handler still runs). */
async function writeRunning(a: Attempt, controller: JobAbort, handlerDone: () => boolean) {
  if (a.runningWritten || controller.aborted || handlerDone()) return;
  a.runningWritten = true;
  const workerId = a.deps.opts.workerId;
  const next = addTransition(
    { ...a.job, attempts: a.attemptNo, workerId },
    { state: 'running', at: Date.now(), attempt: a.attemptNo, workerId },
  );
  const r = await a.write(next);
  if (r !== 'ok') controller.abort(new AbortReason('cancelled', 'job was cancelled'));
  // Published with the record: a job shorter than the running-record delay goes
  // straight from pending to its outcome, in its record and in the events.
  else a.event({ state: 'running', attempt: a.attemptNo });
}

/**
 * Run the handler under its timeout and signal, then record its outcome.
 * Callbacks rather than an async function awaiting the handler: a suspended
 * frame and a promise less per running job (memory with thousands in flight).
 */
function run(a: Attempt, payload: unknown, onSettled: () => void): Promise<void> {
  const { deps, spec, msg, type, attemptNo } = a;
  const { opts, metrics, breakers } = deps;
  // Not the record itself: `a.job` moves on with each write, and this scope
  // would keep the first one as long as the handler runs.
  const { id, timeoutMs } = a.job;
  const controller = new JobAbort();
  deps.running.set(id, { id, type, controller, startedAt: Date.now() });
  metrics.started.inc({ type });
  metrics.inFlight.inc({ type });

  let handlerDone = false;
  let runningWrite: Promise<void> | undefined;
  // Short jobs skip the `running` write; long ones (and redeliveries, which may be crash loops) get it.
  // Dropped once it fired: the timer and its closure would stay as long as the handler runs.
  let runningTimer: NodeJS.Timeout | undefined = setTimeout(
    () => {
      runningTimer = undefined;
      runningWrite = deps.runningWrites
        .run(() => writeRunning(a, controller, () => handlerDone))
        .catch((err: unknown) => a.log().warn({ err }, 'could not record running state'));
    },
    msg.info.redelivered ? 0 : opts.runningRecordDelayMs,
  );
  const timeoutTimer = setTimeout(
    () => controller.abort(new AbortReason('timeout', `timed out after ${timeoutMs} ms`)),
    timeoutMs,
  );
  const wctx = new JobContext(
    a,
    { ...a.job, payload, attempts: attemptNo, state: 'running' },
    controller,
  );

  const started = Date.now();
  // An isolated handler runs in its own thread or process (isolation/).
  const iso = isolationOf(spec.worker);
  let isolated: IsolatedRun | undefined;
  const handler = (): Promise<JobResult> => {
    if (!iso) return spec.worker.processJob(wctx.job, wctx);
    if (iso instanceof ConfigError) return Promise.reject(new NonRetryableError(iso.message));
    try {
      isolated = startIsolated(iso, wctx);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    if (controller.reason) isolated.abort(controller.reason);
    return isolated.result;
  };
  // In the attempt span's context: the handler's own spans are its children.
  const work = otelContext.with(a.traceContext, () =>
    breakers.fire(type, TYPE_BREAKER_KEY, handler),
  );
  return new Promise<void>((resolve, reject) => {
    let graceTimer: NodeJS.Timeout | undefined;
    let killed: string | undefined;
    // The handler settled, or (once the job is aborted) did not within `timeoutGraceMs`.
    const done = (result: Settled): void => {
      if (handlerDone) return;
      // Once the kill is decided, that is how it ended, whatever the exit raced.
      const settled: Settled = killed ? { killed } : result;
      handlerDone = true;
      clearTimeout(graceTimer);
      controller.onAbort(undefined);
      clearTimeout(runningTimer);
      clearTimeout(timeoutTimer);
      deps.running.delete(id);
      metrics.inFlight.dec({ type });
      onSettled();
      finish(a, controller, settled, runningWrite, started, timeoutMs).then(resolve, reject);
    };
    const onAbort = (): void => {
      if (isolated && controller.reason) isolated.abort(controller.reason);
      graceTimer = setTimeout(() => {
        const run = isolated;
        if (!run) return done({ abandoned: true });
        // Hard: the slot stays taken until the thread or process is gone.
        const how = `handler ${run.mode} ended ${opts.timeoutGraceMs} ms after its signal`;
        killed = how;
        void run.kill().then(() => done({ killed: how }));
      }, opts.timeoutGraceMs);
    };
    if (controller.aborted) onAbort();
    else controller.onAbort(onAbort);
    work.then(
      (value) => done({ value }),
      (error: unknown) => done({ error }),
    );
  });
}

/** Record the outcome of a handler that settled (the slot is already free). */
async function finish(
  a: Attempt,
  controller: JobAbort,
  settled: Settled,
  runningWrite: Promise<void> | undefined,
  started: number,
  timeoutMs: number,
): Promise<void> {
  const { breakers, metrics } = a.deps;
  if (runningWrite) await runningWrite;
  const durationMs = Date.now() - started;
  const outcome = outcomeOf(controller, settled, breakers, a.type, timeoutMs);
  metrics.duration.observe({ type: a.type, outcome: outcome.kind }, durationMs / 1000);
  await record(a, outcome, durationMs);
}

function outcomeOf(
  controller: JobAbort,
  settled: Settled,
  breakers: Breakers,
  type: string,
  timeoutMs: number,
): Outcome {
  const reason = controller.reason;
  if (reason) {
    if (reason.kind === 'cancelled') return { kind: 'cancelled' };
    if (reason.kind === 'shutdown') return { kind: 'shutdown' };
    const note = 'killed' in settled ? `; ${settled.killed}` : '';
    return {
      kind: 'failure',
      error: new JobTimeoutError(timeoutMs).message + note,
      retryable: true,
    };
  }
  if ('value' in settled) return classify(settled.value as JobResult | undefined);
  if ('error' in settled) return classifyError(settled.error, breakers, type, undefined);
  return { kind: 'failure', error: 'abandoned after its signal fired', retryable: true };
}

function record(a: Attempt, outcome: Outcome, durationMs: number): Promise<void> | void {
  switch (outcome.kind) {
    case 'success':
      return onSuccess(a, outcome, durationMs);
    case 'cancelled':
      return onCancelled(a);
    case 'shutdown':
      return onShutdown(a);
    case 'defer':
      return onDefer(a, outcome.delayMs, outcome.reason);
    case 'failure':
      return onFailure(a, outcome, durationMs);
  }
}
