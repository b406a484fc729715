/**
 * Which objects still have replication in flight: a `replication` job for the
 * same bucket and key (or a `replication-resync` job covering its prefix)
 * that is pending, running, retrying or delayed. Cleanup must not delete
 * such an object: the copy is not settled yet.
 *
 * Every unfinished job sits in the jobs work-queue stream (acknowledged only
 * when it ends) or in the delayed stream, on a subject naming its type. A
 * snapshot first asks the streams how many such messages there are (one
 * request; nothing more when there are none, the usual case) and otherwise
 * reads just those messages by subject (direct get), so it costs
 * O(replication backlog), never O(all jobs).
 */
import type { CoreContext } from '@rfw/core/internal';
import { decodeJobMessage } from '@rfw/core/internal';
import { StorageJobType } from '@rfw/storage-jobs';

/** Replication in flight at the time of a snapshot. */
export interface BacklogSnapshot {
  /** Whether `bucket/key` has a replication job in flight. */
  has(bucket: string, key: string): boolean;
  /** Jobs seen. */
  readonly jobs: number;
  takenAt: number;
}

const EMPTY: Omit<BacklogSnapshot, 'takenAt'> = { has: () => false, jobs: 0 };

export class ReplicationBacklog {
  constructor(private readonly core: Pick<CoreContext, 'jsm' | 'names'>) {}

  async snapshot(): Promise<BacklogSnapshot> {
    const takenAt = Date.now();
    const keys = new Set<string>();
    const prefixes = new Map<string, string[]>();
    let jobs = 0;
    const { names, jsm } = this.core;
    for (const type of [StorageJobType.Replication, StorageJobType.ReplicationResync]) {
      for (const [stream, subject] of [
        [names.jobsStream, names.jobFilter(type, '*')],
        [names.delayedStream, names.delayedSubject(type, '*')],
      ] as const) {
        const info = await jsm.streams.info(stream, { subjects_filter: subject });
        const count = Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
        if (count === 0) continue;
        let seq = info.state.first_seq;
        for (let seen = 0; seen < count; seen++) {
          let m;
          try {
            m = await jsm.direct.getMessage(stream, { seq, next_by_subj: subject });
          } catch (err) {
            if (/no message found|not found/i.test((err as Error).message)) break;
            throw err;
          }
          if (!m) break;
          seq = m.seq + 1;
          const d = decodeJobMessage(names, m.subject, m.header, m.data, m.seq);
          if (!d.ok || typeof d.job.payload !== 'object' || d.job.payload === null) continue;
          const p = d.job.payload as { bucket?: unknown; key?: unknown; prefix?: unknown };
          if (typeof p.bucket !== 'string') continue;
          jobs++;
          if (type === StorageJobType.Replication && typeof p.key === 'string')
            keys.add(`${p.bucket}\u0000${p.key}`);
          if (type === StorageJobType.ReplicationResync) {
            const list = prefixes.get(p.bucket) ?? [];
            list.push(typeof p.prefix === 'string' ? p.prefix : '');
            prefixes.set(p.bucket, list);
          }
        }
      }
    }
    if (jobs === 0) return { ...EMPTY, takenAt };
    return {
      jobs,
      takenAt,
      has(bucket, key) {
        if (keys.has(`${bucket}\u0000${key}`)) return true;
        return (prefixes.get(bucket) ?? []).some((p) => key.startsWith(p));
      },
    };
  }
}
