/**
 * One attempt of one job, from the message to its outcome: decode and
 * validate, read the record, run the handler under its timeout and signal,
 * then record the outcome and settle the message (ack, nak with delay, or
 * dead-letter). Every path acks or naks exactly once and never throws.
 */
import type { JsMsg } from '@nats-io/jetstream';
import {
  TERMINAL_STATES,
  addTransition,
  decodeJobMessage,
  newRecord,
  publishEvent,
  type CoreContext,
  type Job,
  type JobEvent,
  type Logger,
} from '@rfw/core/internal';
import { AbortReason, JobAbort } from './abort-reasons.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
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
import type { WriteLimiter } from './write-limiter.js';
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

/** Wait for the handler; once the job is aborted, wait at most `graceMs` more. */
function settle<T>(
  work: Promise<T>,
  abort: JobAbort,
  graceMs: number,
): Promise<{ value: T } | { error: unknown } | { abandoned: true }> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      timer = setTimeout(() => resolve({ abandoned: true }), graceMs);
    };
    if (abort.aborted) onAbort();
    else abort.onAbort(onAbort);
    work.then(
      (value) => {
        clearTimeout(timer);
        abort.onAbort(undefined);
        resolve({ value });
      },
      (error: unknown) => {
        clearTimeout(timer);
        abort.onAbort(undefined);
        resolve({ error });
      },
    );
  });
}

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

async function attempt(
  deps: RunnerDeps,
  spec: TypeSpec,
  msg: JsMsg,
  onSettled: () => void,
): Promise<void> {
  const { core, opts, metrics, breakers } = deps;
  const type = spec.worker.workerType;
  const decoded = decodeJobMessage(core.names, msg.subject, msg.headers, msg.data, msg.seq);
  if (!decoded.ok) {
    await deadLetter(deps, msg, {
      id: decoded.id,
      type,
      priority: decoded.priority,
      reason: `poison message: ${decoded.reason}`,
    });
    return;
  }
  const env = decoded.job;
  let payload = env.payload;
  if (spec.worker.schema) {
    const r = spec.worker.schema.safeParse(payload);
    if (!r.success) {
      await deadLetter(deps, msg, {
        id: env.id,
        type,
        priority: env.priority,
        reason: `poison message: payload fails the ${type} schema: ${r.error.message.slice(0, 1000)}`,
        payload,
      });
      return;
    }
    payload = r.data;
  }

  const found = await core.records.get(env.id);
  let rev = found?.revision;
  let job: Job =
    found?.job ??
    newRecord(
      {
        id: env.id,
        type,
        priority: env.priority,
        payload,
        maxRetries: env.maxRetries ?? spec.maxRetries,
        timeoutMs: env.timeoutMs ?? spec.timeoutMs,
        createdAt: env.createdAt ?? msg.info.timestampNanos / 1e6,
        runAt: env.runAt ?? env.createdAt ?? Date.now(),
        attempts: env.attempts,
        backoff: env.backoff,
        location: { stream: core.names.jobsStream, seq: msg.seq },
      },
      'pending',
      env.createdAt ?? Date.now(),
    );
  if (TERMINAL_STATES.has(job.state)) {
    // Cancelled before it started, or finished by an attempt whose ack was lost.
    msg.ack();
    return;
  }
  // A child logger per job costs memory with thousands running: made when first used.
  let childLog: Logger | undefined;
  const log = (): Logger =>
    (childLog ??= deps.log.child({ jobId: job.id, type, attempt: job.attempts + 1 }));
  const ev = (e: Omit<JobEvent, 'id' | 'type' | 'priority' | 'at'>): void =>
    publishEvent(core, {
      id: job.id,
      type,
      priority: job.priority,
      at: Date.now(),
      workerId: opts.workerId,
      ...e,
    });

  // A job put back because its worker died is redelivered with its record still `running`.
  const redelivered = msg.info.redelivered;
  const attemptNo = job.attempts + 1;
  if (attemptNo > job.maxRetries + 1) {
    await finishDead(
      deps,
      msg,
      job,
      attemptNo - 1,
      'attempts exhausted: the last attempt was cut short (worker crash or lost lease)',
      job.lastError,
    );
    return;
  }

  // An open breaker defers the job without using an attempt.
  const keys = [TYPE_BREAKER_KEY, ...(spec.worker.breakerKeys?.(payload as never) ?? [])];
  for (const key of keys) {
    const wait = breakers.blockedFor(type, key);
    if (wait > 0) {
      metrics.deferred.inc({ type, reason: 'breaker' });
      ev({ state: 'deferred', reason: `breaker ${key} open`, retryInMs: wait });
      msg.nak(wait);
      return;
    }
  }

  const controller = new JobAbort();
  const active: ActiveJob = { id: job.id, type, controller, startedAt: Date.now() };
  deps.running.set(job.id, active);
  metrics.started.inc({ type });
  metrics.inFlight.inc({ type });

  const write = async (next: Job): Promise<'ok' | 'cancelled' | 'finished'> => {
    for (let i = 0; i < 5; i++) {
      const r =
        rev === undefined ? await core.records.create(next) : await core.records.update(next, rev);
      if (r !== undefined) {
        rev = r;
        return 'ok';
      }
      const cur = await core.records.get(next.id);
      if (cur?.job.state === 'cancelled') return 'cancelled';
      if (cur && TERMINAL_STATES.has(cur.job.state)) return 'finished';
      rev = cur?.revision;
    }
    throw new Error(`job ${next.id}: record kept changing`);
  };

  let runningWritten = false;
  let handlerDone = false;
  const writeRunning = async (): Promise<void> => {
    if (runningWritten || controller.aborted || handlerDone) return;
    runningWritten = true;
    const at = Date.now();
    job = addTransition(
      { ...job, attempts: attemptNo, workerId: opts.workerId },
      { state: 'running', at, attempt: attemptNo, workerId: opts.workerId },
    );
    const r = await write(job);
    if (r !== 'ok') controller.abort(new AbortReason('cancelled', 'job was cancelled'));
    // Published with the record: a job shorter than the running-record delay goes
    // straight from pending to its outcome, in its record and in the events.
    else ev({ state: 'running', attempt: attemptNo });
  };
  let runningWrite: Promise<void> | undefined;
  // Short jobs skip the `running` write; long ones (and redeliveries, which may be crash loops) get it.
  const runningTimer = setTimeout(
    () => {
      runningWrite = deps.runningWrites
        .run(writeRunning)
        .catch((err: unknown) => log().warn({ err }, 'could not record running state'));
    },
    redelivered ? 0 : opts.runningRecordDelayMs,
  );
  const timeoutTimer = setTimeout(
    () => controller.abort(new AbortReason('timeout', `timed out after ${job.timeoutMs} ms`)),
    job.timeoutMs,
  );

  const wctx = new JobContext({
    job: { ...job, payload, attempts: attemptNo, state: 'running' },
    workerId: opts.workerId,
    type,
    msg,
    abort: controller,
    metrics,
    breakers,
    log,
    emitProgress: (progress) => ev({ state: 'progress', attempt: attemptNo, progress }),
  });

  const started = Date.now();
  const work = breakers.fire(type, TYPE_BREAKER_KEY, () => spec.worker.processJob(wctx.job, wctx));
  const settled = await settle(work, controller, opts.timeoutGraceMs);
  handlerDone = true;
  clearTimeout(runningTimer);
  clearTimeout(timeoutTimer);
  deps.running.delete(job.id);
  metrics.inFlight.dec({ type });
  onSettled();
  if (runningWrite) await runningWrite;
  const durationMs = Date.now() - started;

  let outcome: Outcome;
  const reason = controller.reason;
  if (reason) {
    if (reason.kind === 'cancelled') outcome = { kind: 'cancelled' };
    else if (reason.kind === 'shutdown') outcome = { kind: 'shutdown' };
    else
      outcome = {
        kind: 'failure',
        error: new JobTimeoutError(job.timeoutMs).message,
        retryable: true,
      };
  } else if ('value' in settled) {
    outcome = classify(settled.value);
  } else if ('error' in settled) {
    outcome = classifyError(settled.error, breakers, type, undefined);
  } else {
    outcome = { kind: 'failure', error: 'abandoned after its signal fired', retryable: true };
  }
  metrics.duration.observe({ type, outcome: outcome.kind }, durationMs / 1000);

  switch (outcome.kind) {
    case 'success': {
      const at = Date.now();
      const next = addTransition(
        {
          ...job,
          attempts: attemptNo,
          workerId: opts.workerId,
          result: outcome.output,
          location: undefined,
        },
        {
          state: 'succeeded',
          at,
          attempt: attemptNo,
          workerId: opts.workerId,
          error: outcome.skipped ? `skipped: ${outcome.skipped}` : undefined,
        },
      );
      const w = await write(next);
      msg.ack();
      if (w === 'ok') {
        metrics.succeeded.inc({ type });
        ev({ state: 'succeeded', attempt: attemptNo, durationMs });
      }
      return;
    }
    case 'cancelled': {
      msg.ack();
      metrics.cancelled.inc({ type });
      log().info('cancelled while running');
      return;
    }
    case 'shutdown': {
      if (runningWritten) {
        const back = addTransition(
          { ...job, attempts: attemptNo - 1 },
          { state: 'pending', at: Date.now() },
        );
        await write(back).catch(() => undefined);
      }
      msg.nak();
      return;
    }
    case 'defer': {
      if (runningWritten) {
        const back = addTransition(
          { ...job, attempts: attemptNo - 1 },
          { state: 'pending', at: Date.now() },
        );
        await write(back).catch(() => undefined);
      }
      metrics.deferred.inc({ type, reason: 'breaker' });
      ev({ state: 'deferred', reason: outcome.reason, retryInMs: outcome.delayMs });
      msg.nak(outcome.delayMs);
      return;
    }
    case 'failure': {
      metrics.failed.inc({ type });
      if (!outcome.retryable || attemptNo > job.maxRetries) {
        const why = outcome.retryable ? `failed ${attemptNo} attempts` : 'non-retryable error';
        await finishDead(deps, msg, job, attemptNo, why, outcome.error);
        return;
      }
      const delay =
        outcome.retryAfterMs ??
        backoffDelay(attemptNo, job.backoff ? { ...spec.backoff, ...job.backoff } : spec.backoff);
      const at = Date.now();
      const next = addTransition(
        { ...job, attempts: attemptNo, lastError: outcome.error, workerId: opts.workerId },
        {
          state: 'retrying',
          at,
          attempt: attemptNo,
          workerId: opts.workerId,
          error: outcome.error,
        },
      );
      const w = await write(next);
      if (w === 'ok') {
        metrics.retried.inc({ type });
        ev({
          state: 'retrying',
          attempt: attemptNo,
          error: outcome.error,
          durationMs,
          retryInMs: delay,
        });
        log().info({ err: outcome.error, retryInMs: delay }, 'attempt failed, will retry');
        msg.nak(delay);
      } else {
        msg.ack();
      }
      return;
    }
  }
}

async function finishDead(
  deps: RunnerDeps,
  msg: JsMsg,
  job: Job,
  attempts: number,
  reason: string,
  lastError: string | undefined,
): Promise<void> {
  await deadLetter(deps, msg, {
    id: job.id,
    type: job.type,
    priority: job.priority,
    reason,
    lastError,
    attempts,
    job,
  });
}
