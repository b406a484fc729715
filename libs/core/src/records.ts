/**
 * The jobs KV bucket: job id -> job record. Every writer uses compare-and-set
 * on the revision, so concurrent writers (a worker finishing, a user
 * cancelling) never overwrite each other blindly.
 */
import { JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { LIMITS, type Job, type JobState, type JobTransition } from './job.js';
import { decodeRecord, encodeRecord } from './wire.js';
import type { CompiledJob } from './schedule-options.js';

export interface VersionedJob {
  job: Job;
  revision: number;
}

/** True when a KV write lost a compare-and-set race (wrong last sequence). */
export function isCasConflict(err: unknown): boolean {
  if (err instanceof JetStreamApiError) return err.code === 10071 || err.code === 10164;
  const msg = (err as Error | undefined)?.message ?? '';
  return msg.includes('wrong last sequence') || msg.includes('key exists');
}

export function addTransition(job: Job, t: JobTransition): Job {
  const history = [...job.history, t];
  if (history.length > LIMITS.maxHistory) history.splice(1, history.length - LIMITS.maxHistory);
  return { ...job, state: t.state, history, updatedAt: t.at };
}

export class RecordStore {
  constructor(readonly kv: KV) {}

  async get(id: string): Promise<VersionedJob | undefined> {
    const e = await this.kv.get(id);
    if (!e || e.operation !== 'PUT') return undefined;
    return { job: decodeRecord(e.value), revision: e.revision };
  }

  /** Create the record; resolves `undefined` when one exists already. */
  async create(job: Job): Promise<number | undefined> {
    try {
      return await this.kv.create(job.id, encodeRecord(job));
    } catch (err) {
      if (isCasConflict(err)) return undefined;
      throw err;
    }
  }

  /** Replace the record if it is still at `revision`; `undefined` when it moved on. */
  async update(job: Job, revision: number): Promise<number | undefined> {
    try {
      return await this.kv.update(job.id, encodeRecord(job), revision);
    } catch (err) {
      if (isCasConflict(err)) return undefined;
      throw err;
    }
  }

  /**
   * Read-modify-write with retries on conflict. `fn` returns the new record, or
   * `undefined` to leave it as it is. Resolves with what was written (or found).
   */
  async mutate(
    id: string,
    fn: (current: Job | undefined) => Job | undefined,
    attempts = 10,
  ): Promise<VersionedJob | undefined> {
    for (let i = 0; i < attempts; i++) {
      const cur = await this.get(id);
      const next = fn(cur?.job);
      if (!next) return cur;
      const rev = cur ? await this.update(next, cur.revision) : await this.create(next);
      if (rev !== undefined) return { job: next, revision: rev };
    }
    throw new Error(`job ${id}: too many concurrent updates`);
  }

  async delete(id: string): Promise<void> {
    await this.kv.purge(id);
  }
}

/** A new record for a job, with its first transition. */
export function newRecord(
  fields: Omit<Job, 'history' | 'updatedAt' | 'state' | 'attempts'> & { attempts?: number },
  state: JobState,
  at: number,
): Job {
  return {
    attempts: 0,
    ...fields,
    state,
    updatedAt: at,
    history: [{ state, at }],
  };
}

/** The first record of a job as `schedule()` or `flow()` compiled it. */
export function compiledRecord(
  job: CompiledJob,
  state: JobState,
  extra: Partial<Pick<Job, 'location' | 'flow' | 'runAt'>> = {},
): Job {
  return newRecord(
    {
      id: job.id,
      type: job.type,
      priority: job.priority,
      payload: job.payload,
      maxRetries: job.maxRetries,
      timeoutMs: job.timeoutMs,
      createdAt: job.createdAt,
      backoff: job.backoff,
      parent: job.parent,
      ...extra,
      runAt: extra.runAt ?? job.runAt,
    },
    state,
    job.createdAt,
  );
}
