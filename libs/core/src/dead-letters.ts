/**
 * Reading and managing the dead letter queue: `<prefix>.dlq.<type>` holds
 * each dead job's original body and headers plus why it died.
 */
import type { StoredMsg } from '@nats-io/jetstream';
import type { CoreContext } from './context.js';
import { JobValidationError } from './errors.js';
import { validateType } from './schedule-options.js';
import { Hdr } from './wire.js';

/** A job in the dead-letter queue, with why it got there. */
export interface DeadLetter {
  /** The job id (`Rfw-Job-Id`); `dlq<seq>` when the message carries none. */
  id: string;
  /** The job type, from the DLQ subject. */
  type: string;
  /** Why the job is dead. */
  reason: string;
  /** The error of the last failed attempt, when there was one. */
  lastError?: string;
  /** Attempts the job used (`Rfw-Attempts`); 0 when the header is missing. */
  attempts: number;
  /** The subject it was consumed from. */
  originalSubject: string;
  /** The body as published (usually the JSON payload), as text. */
  body: string;
  /** Sequence in the DLQ stream. */
  seq: number;
  /** When it died, ms since the epoch. */
  at: number;
}

/** One page of dead letters, oldest first. */
export interface DeadLetterPage {
  /** Up to `limit` dead letters (100 unless asked), in DLQ stream order. */
  deadLetters: DeadLetter[];
  /**
   * Pass back as `cursor` for the next page; absent once the stream has no
   * more. A full page always carries one, so the next page may be empty.
   */
  nextCursor?: string;
}

export function decodeDeadLetter(m: StoredMsg): DeadLetter {
  const h = m.header;
  return {
    id: h?.get(Hdr.JobId) ?? `dlq${m.seq}`,
    type: m.subject.split('.')[2] ?? '',
    reason: h?.get(Hdr.DeadReason) ?? 'unknown',
    lastError: h?.get(Hdr.LastError) || undefined,
    attempts: Number(h?.get(Hdr.Attempts) ?? 0),
    originalSubject: h?.get(Hdr.OriginalSubject) ?? '',
    body: new TextDecoder().decode(m.data),
    seq: m.seq,
    at: m.time.getTime(),
  };
}

export async function getDeadLetterMessage(
  ctx: CoreContext,
  seq: number,
): Promise<StoredMsg | null> {
  try {
    return await ctx.jsm.streams.getMessage(ctx.names.dlqStream, { seq });
  } catch (err) {
    if (/no message found|not found/i.test((err as Error).message)) return null;
    throw err;
  }
}

export async function listDeadLetters(
  ctx: CoreContext,
  filter: { type?: string; limit?: number; cursor?: string } = {},
): Promise<DeadLetterPage> {
  const subject = ctx.names.dlqSubject(filter.type === undefined ? '*' : validateType(filter.type));
  const limit = filter.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new JobValidationError('limit', `${String(limit)} must be an integer in [1, 1000]`);
  }
  if (filter.cursor !== undefined && !/^\d+$/.test(filter.cursor)) {
    throw new JobValidationError('cursor', 'not a cursor returned by listDeadLetters()');
  }
  let seq = filter.cursor ? Number(filter.cursor) : 1;
  const out: DeadLetter[] = [];
  while (out.length < limit) {
    let m: StoredMsg | null;
    try {
      m = await ctx.jsm.direct.getMessage(ctx.names.dlqStream, { seq, next_by_subj: subject });
    } catch (err) {
      if (/no message found|not found/i.test((err as Error).message)) m = null;
      else throw err;
    }
    if (!m) return { deadLetters: out };
    seq = m.seq + 1;
    out.push(decodeDeadLetter(m));
  }
  return { deadLetters: out, nextCursor: String(seq) };
}

/** Remove dead letters (of one type, or all). Resolves with how many were removed. */
export async function purgeDeadLetters(ctx: CoreContext, type?: string): Promise<number> {
  const filter = ctx.names.dlqSubject(type === undefined ? '*' : validateType(type));
  const r = await ctx.jsm.streams.purge(ctx.names.dlqStream, { filter });
  return r.purged;
}
