/**
 * What a delivery does once its handler has settled, one function per
 * outcome. The order of writes is what makes an outcome count once: the
 * record first (compare-and-set: of two deliveries of one job only one makes
 * the terminal transition), then the terminal event (stored, deduplicated by
 * the job message's sequence), then the ack. A crash between any two of them
 * leaves the message unacked; its replay finds the record terminal and
 * publishes the same event id again before acking (see `republishOutcome`).
 */
import { addTransition, recordChildEnding, republishOutcome } from '@rfw/core/internal';
import type { Attempt } from './attempt.js';
import { backoffDelay } from './backoff.js';
import { deadLetter } from './dead-letter.js';

export async function onSuccess(
  a: Attempt,
  outcome: { output?: unknown; skipped?: string },
  durationMs: number,
): Promise<void> {
  const { deps, msg, attemptNo } = a;
  const workerId = deps.opts.workerId;
  const next = addTransition(
    { ...a.job, attempts: attemptNo, workerId, result: outcome.output, location: undefined },
    {
      state: 'succeeded',
      at: Date.now(),
      attempt: attemptNo,
      workerId,
      error: outcome.skipped ? `skipped: ${outcome.skipped}` : undefined,
      seq: msg.seq,
    },
  );
  const w = await a.write(next);
  if (w === 'ok') {
    await a.outcomeEvent({ state: 'succeeded', attempt: attemptNo, durationMs });
    await recordChildEnding(deps.core, a.job);
    deps.metrics.succeeded.inc({ type: a.type });
    a.endSpan('succeeded');
  } else {
    // Another delivery of this message (or a canceller) ended it first.
    await republishOutcome(deps.core, a.job, msg.seq);
    await recordChildEnding(deps.core, a.job);
    a.endSpan(`already ${a.job.state}`);
  }
  msg.ack();
}

export function onCancelled(a: Attempt): void {
  // The canceller wrote the record and published the event.
  a.msg.ack();
  a.endSpan('cancelled');
  a.deps.metrics.cancelled.inc({ type: a.type });
  a.log().info('cancelled while running');
}

/** Put a job that had its `running` record back to `pending` (the attempt did not count). */
async function unrun(a: Attempt): Promise<void> {
  if (!a.runningWritten) return;
  const back = addTransition(
    { ...a.job, attempts: a.attemptNo - 1 },
    { state: 'pending', at: Date.now() },
  );
  await a.write(back).catch(() => undefined);
}

export async function onShutdown(a: Attempt): Promise<void> {
  await unrun(a);
  a.endSpan('shutdown');
  a.msg.nak();
}

export async function onDefer(a: Attempt, delayMs: number, reason: string): Promise<void> {
  await unrun(a);
  a.deps.metrics.deferred.inc({ type: a.type, reason: 'breaker' });
  a.event({ state: 'deferred', reason, retryInMs: delayMs });
  a.endSpan('deferred', { deferReason: reason });
  a.msg.nak(delayMs);
}

export async function onFailure(
  a: Attempt,
  outcome: { error: string; retryable: boolean; retryAfterMs?: number },
  durationMs: number,
): Promise<void> {
  const { deps, spec, msg, attemptNo } = a;
  const job = a.job;
  deps.metrics.failed.inc({ type: a.type });
  if (!outcome.retryable || attemptNo > job.maxRetries) {
    const why = outcome.retryable ? `failed ${attemptNo} attempts` : 'non-retryable error';
    await finishDead(a, attemptNo, why, outcome.error);
    return;
  }
  const delay =
    outcome.retryAfterMs ??
    backoffDelay(attemptNo, job.backoff ? { ...spec.backoff, ...job.backoff } : spec.backoff);
  const workerId = deps.opts.workerId;
  const next = addTransition(
    { ...job, attempts: attemptNo, lastError: outcome.error, workerId },
    { state: 'retrying', at: Date.now(), attempt: attemptNo, workerId, error: outcome.error },
  );
  const w = await a.write(next);
  if (w !== 'ok') {
    await republishOutcome(deps.core, a.job, msg.seq);
    await recordChildEnding(deps.core, a.job);
    a.endSpan(`already ${a.job.state}`);
    msg.ack();
    return;
  }
  deps.metrics.retried.inc({ type: a.type });
  a.event({
    state: 'retrying',
    attempt: attemptNo,
    error: outcome.error,
    durationMs,
    retryInMs: delay,
  });
  a.log().info({ err: outcome.error, retryInMs: delay }, 'attempt failed, will retry');
  a.endSpan('retrying', { error: outcome.error });
  msg.nak(delay);
}

export async function finishDead(
  a: Attempt,
  attempts: number,
  reason: string,
  lastError: string | undefined,
): Promise<void> {
  await deadLetter(a.deps, a.msg, {
    id: a.job.id,
    type: a.job.type,
    priority: a.job.priority,
    reason,
    lastError,
    attempts,
    job: a.job,
    trace: a.traceContext,
  });
  a.endSpan('dead', { error: lastError ?? reason });
}
