/**
 * Reads of many stored messages in few round trips, for listing and locating
 * jobs. nats-server 2.11 and newer answer a batched direct get (ADR-31): one
 * request returns up to N messages of a subject filter from a sequence on, or
 * the last message of each of N subjects (here: N job records). On 2.10 the
 * same calls fall back to one direct get per message, and the records of a
 * page are read concurrently instead of one after the other.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import type { ConsumerInfo, StoredMsg } from '@nats-io/jetstream';
import type { CoreContext } from './context.js';
import type { Job } from './job.js';
import { serverAtLeast } from './connection.js';
import { decodeRecord } from './wire.js';

/** Largest batch asked of the server at once (a page is at most 1,000 jobs). */
export const MAX_BATCH = 256;

/** Whether the connected server answers batched direct gets (2.11+). */
export function hasBatchDirectGet(nc: NatsConnection): boolean {
  return serverAtLeast(nc, '2.11');
}

function isNotFound(err: unknown): boolean {
  return /no message found|message not found|not found/i.test(
    (err as Error | undefined)?.message ?? '',
  );
}

/** One message of `subject` at or after `seq`, or null at the end. */
export async function directGet(
  ctx: Pick<CoreContext, 'jsm'>,
  stream: string,
  seq: number,
  subject: string,
): Promise<StoredMsg | null> {
  try {
    return await ctx.jsm.direct.getMessage(stream, { seq, next_by_subj: subject });
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/**
 * Up to `n` messages of `stream` on `subject` (wildcards allowed) from `seq`
 * on, in stream order; empty at the end of the stream. On 2.10, one message
 * per call: callers loop until they have what they need.
 */
export async function nextMessages(
  ctx: Pick<CoreContext, 'jsm' | 'nc'>,
  stream: string,
  seq: number,
  subject: string,
  n: number,
): Promise<StoredMsg[]> {
  if (n > 1 && hasBatchDirectGet(ctx.nc)) {
    const out: StoredMsg[] = [];
    try {
      const batch = await ctx.jsm.direct.getBatch(stream, {
        seq,
        next_by_subj: subject,
        batch: Math.min(n, MAX_BATCH),
      });
      for await (const m of batch) out.push(m);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    return out;
  }
  const m = await directGet(ctx, stream, seq, subject);
  return m ? [m] : [];
}

/** The records of `ids` that exist (deleted and purged ones are left out), by id. */
export async function readRecords(
  ctx: Pick<CoreContext, 'jsm' | 'nc' | 'names' | 'records'>,
  ids: readonly string[],
): Promise<Map<string, Job>> {
  const out = new Map<string, Job>();
  if (ids.length === 0) return out;
  if (ids.length > 1 && hasBatchDirectGet(ctx.nc)) {
    const bucket = ctx.names.jobsBucket;
    const prefix = `$KV.${bucket}.`;
    for (let i = 0; i < ids.length; i += MAX_BATCH) {
      const chunk = ids.slice(i, i + MAX_BATCH);
      try {
        const batch = await ctx.jsm.direct.getLastMessagesFor(`KV_${bucket}`, {
          multi_last: chunk.map((id) => prefix + id),
          batch: chunk.length,
        });
        for await (const m of batch) {
          if (m.header?.get('KV-Operation')) continue; // DEL or PURGE
          out.set(m.subject.slice(prefix.length), decodeRecord(m.data));
        }
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return out;
  }
  const found = await Promise.all(ids.map((id) => ctx.records.get(id)));
  found.forEach((r, i) => {
    if (r) out.set(ids[i] as string, r.job);
  });
  return out;
}

/**
 * The consumers of the jobs stream and what they account for: the messages
 * each has still to deliver or is waiting to see acked. On a work-queue stream
 * `covered` equals the stream's message count unless some message is matched
 * by no consumer (a type no worker started, an invalid type).
 */
export async function readQueueCoverage(
  ctx: Pick<CoreContext, 'jsm' | 'names'>,
): Promise<{ consumers: ConsumerInfo[]; covered: number; messages: number }> {
  const consumers: ConsumerInfo[] = [];
  let covered = 0;
  for await (const ci of ctx.jsm.consumers.list(ctx.names.jobsStream)) {
    consumers.push(ci);
    covered += ci.num_pending + ci.num_ack_pending;
  }
  const { messages } = (await ctx.jsm.streams.info(ctx.names.jobsStream)).state;
  return { consumers, covered, messages };
}
