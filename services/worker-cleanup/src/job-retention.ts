/**
 * Purging finished job records (and, optionally, old job events) past the
 * retention. A record is removed with a compare-and-set on the revision that
 * was read, so a job retried meanwhile (no longer terminal) is kept.
 */
import type { CoreContext } from '@rfw/core/internal';
import { TERMINAL_STATES, decodeRecord, isCasConflict } from '@rfw/core/internal';
import { CleanupReason, SkipReason, type CleanupReport } from './cleanup-report.js';

export interface RetentionDeps {
  core: Pick<CoreContext, 'records' | 'jsm' | 'names'>;
  report: CleanupReport;
  dryRun: boolean;
  /** Records finished longer ago than this are purged, ms. */
  retentionMs: number;
  /** Also purge events older than the retention from the events stream. */
  purgeEvents: boolean;
  signal: AbortSignal;
  now: () => number;
  progress: (message: string) => void;
}

/** Purges old terminal job records; returns how many keys were examined. */
export async function purgeJobRecords(deps: RetentionDeps): Promise<number> {
  const kv = deps.core.records.kv;
  const cutoff = deps.now() - deps.retentionMs;
  const keys: string[] = [];
  for await (const k of await kv.keys()) keys.push(k);
  let examined = 0;
  for (const key of keys) {
    if (deps.signal.aborted)
      throw deps.signal.reason instanceof Error ? deps.signal.reason : new Error('aborted');
    examined++;
    const e = await kv.get(key);
    if (!e || e.operation !== 'PUT') continue;
    let job;
    try {
      job = decodeRecord(e.value);
    } catch (err) {
      deps.report.error('record', key, err);
      continue;
    }
    if (!TERMINAL_STATES.has(job.state) || job.updatedAt >= cutoff) continue;
    const item = {
      reason: CleanupReason.JobRecord,
      name: key,
      size: e.value.length,
      mtime: job.updatedAt,
    };
    if (deps.dryRun) {
      deps.report.deleted(item);
      continue;
    }
    try {
      await kv.purge(key, { previousSeq: e.revision });
      deps.report.deleted(item);
    } catch (err) {
      if (isCasConflict(err)) deps.report.skipped(SkipReason.Changed);
      else deps.report.error('record', key, err);
    }
    if (examined % 500 === 0) deps.progress(`${examined}/${keys.length} job records examined`);
  }
  if (!deps.dryRun) {
    // Purge markers of records purged on earlier runs (older than 30 min) go too.
    // (`purgeDeletes` is on the client's KV implementation, not on its `KV` type.)
    const withPurge = kv as unknown as {
      purgeDeletes?: (olderMillis?: number) => Promise<unknown>;
    };
    await withPurge
      .purgeDeletes?.()
      .catch((err: unknown) => deps.report.error('record', 'purge markers', err));
  }
  if (deps.purgeEvents) await purgeOldEvents(deps, cutoff);
  return examined;
}

/** Removes events published before `cutoff` (binary search for the first one to keep). */
async function purgeOldEvents(deps: RetentionDeps, cutoff: number): Promise<void> {
  const { jsm, names } = deps.core;
  const stream = names.eventsStream;
  const info = await jsm.streams.info(stream);
  if (info.state.messages === 0) return;
  const timeAt = async (seq: number): Promise<{ seq: number; time: number } | undefined> => {
    try {
      const m = await jsm.direct.getMessage(stream, { seq, next_by_subj: names.eventsWildcard });
      return m ? { seq: m.seq, time: m.time.getTime() } : undefined;
    } catch (err) {
      if (/no message found|not found/i.test((err as Error).message)) return undefined;
      throw err;
    }
  };
  let lo = info.state.first_seq;
  let hi = info.state.last_seq + 1;
  // Invariant: every message below lo is older than cutoff; the one at or after hi is not.
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const m = await timeAt(mid);
    if (!m || m.time >= cutoff) hi = mid;
    else lo = m.seq + 1;
  }
  const purgeBelow = lo;
  const count = purgeBelow - info.state.first_seq;
  if (count <= 0) return;
  if (deps.dryRun) {
    // Sequences may have gaps: an upper bound of what would go.
    deps.report.deletedMany(CleanupReason.Event, count);
    return;
  }
  const r = await jsm.streams.purge(stream, { seq: purgeBelow });
  deps.report.deletedMany(CleanupReason.Event, r.purged);
}
