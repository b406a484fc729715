/**
 * Terminal events (`succeeded`, `dead`, `cancelled`) are stored, not fired and
 * forgotten: each is published to the events stream with a `Nats-Msg-Id` that
 * names the job message it ends, so the delivery that replays a job after a
 * crash, or a second copy racing the first, publishes the same id again and
 * the stream keeps one. Why the job message's sequence and not the attempt
 * number: the attempt is counted in the record, and a record write the server
 * lost in a crash would make a replay count the same attempt again under
 * another number; the message's sequence does not change between deliveries.
 */
import type { CoreContext } from './context.js';
import { TERMINAL_STATES, type Job, type JobState } from './job.js';
import { encodeJson, type JobEvent } from './wire.js';

/** `Nats-Msg-Id` of the terminal event that ends job `id` delivered as message `seq`. */
export function outcomeEventId(id: string, seq: number | string, state: JobState): string {
  return `${id}.${seq}.${state}`;
}

/**
 * Publish a terminal event to the events stream and wait for its PubAck
 * (a duplicate counts as stored). `seq` is the stream sequence of the job
 * message that ended (or, for a job cancelled before any message, a number
 * that the canceller's record write made unique). Throws what the publish
 * throws: the caller must not settle the job message until this resolves.
 */
export async function publishOutcomeEvent(
  ctx: Pick<CoreContext, 'js' | 'names'>,
  ev: JobEvent & { state: JobState },
  seq: number | string,
): Promise<void> {
  await ctx.js.publish(
    ctx.names.eventSubject(ev.type, ev.priority as never, ev.state),
    encodeJson(ev),
    { msgID: outcomeEventId(ev.id, seq, ev.state) },
  );
}

/**
 * The terminal transition of `job` made by job message `seq`, if its last
 * transition is one: a replayed delivery of that message republishes its
 * event (deduplicated) instead of running the job again.
 */
export function terminalBySeq(job: Job, seq: number): Job['history'][number] | undefined {
  const last = job.history[job.history.length - 1];
  if (!last || !TERMINAL_STATES.has(last.state) || last.seq !== seq) return undefined;
  return last;
}

/**
 * For a delivery of job message `seq` that finds the job already ended by
 * that same message: publish its terminal event again from the record (the
 * stream drops it as a duplicate when the first copy was stored). Resolves
 * false, publishing nothing, when another message or a canceller ended it.
 */
export async function republishOutcome(
  ctx: Pick<CoreContext, 'js' | 'names'>,
  job: Job,
  seq: number,
): Promise<boolean> {
  const t = terminalBySeq(job, seq);
  if (!t) return false;
  await publishOutcomeEvent(
    ctx,
    {
      id: job.id,
      type: job.type,
      priority: job.priority,
      state: t.state,
      at: t.at,
      attempt: t.attempt,
      workerId: t.workerId,
      error: t.error,
    },
    seq,
  );
  return true;
}
