/**
 * Periodic schedules changed at run time: `JobQueue.schedules`. Each schedule
 * is one key, `schedule.<name>`, in the control bucket; every scheduler
 * watches those keys and its leader applies a change within a moment, with no
 * restart. Writes are compare-and-set on the key's revision, so two admins
 * editing one schedule cannot lose either change silently.
 *
 * A schedule fires only for times after its last change (`updatedAt`): adding,
 * editing or resuming one never fires times that passed before.
 */
import type { KV } from '@nats-io/kv';
import type { CoreContext } from './context.js';
import { JobValidationError, ScheduleExistsError, ScheduleNotFoundError } from './errors.js';
import { bucketKeys } from './kv-keys.js';
import {
  SCHEDULE_NAME_PATTERN,
  nextFireTimes,
  parseSchedule,
  type Schedule,
  type ScheduleDefinition,
} from './periodic-schedule.js';
import { isCasConflict } from './records.js';
import { decodeJson, encodeJson } from './wire.js';

/** A stored schedule: the value of `schedule.<name>` in `<prefix>_control`. */
export interface StoredSchedule {
  /** Format version of this value. */
  v: 1;
  /** The validated definition, defaults applied. */
  schedule: Schedule;
  /** A paused schedule fires nothing until resumed. */
  paused: boolean;
  /** When it was added, ms since the epoch. */
  createdAt: number;
  /** When it was last changed (added, edited, paused, resumed), ms; only later times fire. */
  updatedAt: number;
  /** Who made the last change, when the caller said. */
  by?: string;
}

/** A change to a stored schedule: any field but the name; `cron` and `everyMs` replace each other. */
export type SchedulePatch = Partial<Omit<ScheduleDefinition, 'name'>>;

/** The control-bucket key of a stored schedule. */
export const scheduleKey = (name: string): string => `schedule.${name}`;
/** The key filter of every stored schedule. */
export const SCHEDULE_KEYS = 'schedule.*';

const MAX_CAS_TRIES = 10;
const MAX_NEXT = 1000;

const apiError = (field: string, reason: string, cause?: unknown): Error =>
  new JobValidationError(field, reason, cause === undefined ? undefined : { cause });

/** Decode a stored schedule; `undefined` for a value that is not one (written by another tool). */
export function decodeStoredSchedule(data: Uint8Array): StoredSchedule | undefined {
  try {
    const s = decodeJson<StoredSchedule>(data);
    if (s?.v !== 1 || typeof s.schedule !== 'object') return undefined;
    return { ...s, schedule: parseSchedule(s.schedule, '', apiError) };
  } catch {
    return undefined;
  }
}

/**
 * The next `count` fire times of a stored schedule after `after`, ms: none
 * while it is paused, and only times after its last change (`updatedAt`).
 */
export function upcomingFireTimes(s: StoredSchedule, after: number, count: number): number[] {
  if (s.paused) return [];
  return nextFireTimes(s.schedule, Math.max(after, s.updatedAt), count);
}

function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !SCHEDULE_NAME_PATTERN.test(name))
    throw new JobValidationError('name', `must match ${SCHEDULE_NAME_PATTERN.source}`);
}

/** Add, change, pause, list and remove periodic schedules; `JobQueue.schedules`. */
export class Schedules {
  constructor(private readonly ctx: CoreContext) {}

  get #kv(): KV {
    return this.ctx.control;
  }

  /** Add a schedule; `ScheduleExistsError` if the name is taken, `JobValidationError` naming a bad field. */
  async add(
    definition: ScheduleDefinition,
    options: { paused?: boolean; by?: string } = {},
  ): Promise<StoredSchedule> {
    const schedule = parseSchedule(definition, '', apiError);
    const now = Date.now();
    const stored: StoredSchedule = {
      v: 1,
      schedule,
      paused: options.paused === true,
      createdAt: now,
      updatedAt: now,
      ...(options.by ? { by: options.by } : {}),
    };
    try {
      await this.#kv.create(scheduleKey(schedule.name), encodeJson(stored));
    } catch (err) {
      if (isCasConflict(err)) throw new ScheduleExistsError(schedule.name);
      throw err;
    }
    return stored;
  }

  /** Change a schedule's fields; `ScheduleNotFoundError` if there is none by that name. */
  async update(name: string, patch: SchedulePatch, by?: string): Promise<StoredSchedule> {
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch))
      throw new JobValidationError('patch', 'must be an object of schedule fields');
    if ('name' in patch)
      throw new JobValidationError('name', 'cannot be changed: add a new schedule');
    return this.#change(name, by, (cur) => {
      const next: Record<string, unknown> = { ...cur.schedule, ...patch };
      if (patch.cron !== undefined) delete next.everyMs;
      if (patch.everyMs !== undefined) {
        delete next.cron;
        delete next.timezone;
      }
      return { ...cur, schedule: parseSchedule(next, '', apiError) };
    });
  }

  /** Stop a schedule firing until `resume()`; its definition is kept. */
  async pause(name: string, by?: string): Promise<StoredSchedule> {
    return this.#change(name, by, (cur) => ({ ...cur, paused: true }));
  }

  /** Fire a paused schedule again, from the next fire time on (missed ones are not fired). */
  async resume(name: string, by?: string): Promise<StoredSchedule> {
    return this.#change(name, by, (cur) => ({ ...cur, paused: false }));
  }

  /** Remove a schedule; `ScheduleNotFoundError` if there is none. Jobs it fired are kept. */
  async remove(name: string): Promise<void> {
    checkName(name);
    // The delete is compare-and-set so that of two removes exactly one
    // succeeds; a change that lands between the read and the delete is
    // removed too, on the next try.
    for (let i = 0; ; i++) {
      const e = await this.#kv.get(scheduleKey(name));
      if (e?.operation !== 'PUT') throw new ScheduleNotFoundError(name);
      try {
        await this.#kv.delete(scheduleKey(name), { previousSeq: e.revision });
        return;
      } catch (err) {
        if (!isCasConflict(err) || i >= MAX_CAS_TRIES) throw err;
      }
    }
  }

  /** One stored schedule, or `undefined`. */
  async get(name: string): Promise<StoredSchedule | undefined> {
    checkName(name);
    const e = await this.#kv.get(scheduleKey(name));
    return e?.operation === 'PUT' ? decodeStoredSchedule(e.value) : undefined;
  }

  /** Every stored schedule, by name (schedules from a scheduler's file or environment are not here). */
  async list(): Promise<StoredSchedule[]> {
    const keys = await bucketKeys(this.#kv, SCHEDULE_KEYS);
    const all = await Promise.all(keys.map((k) => this.#kv.get(k)));
    return all
      .map((e) => (e?.operation === 'PUT' ? decodeStoredSchedule(e.value) : undefined))
      .filter((s): s is StoredSchedule => s !== undefined)
      .sort((a, b) => (a.schedule.name < b.schedule.name ? -1 : 1));
  }

  /**
   * The next `count` (default 5, at most 1000) fire times of a stored
   * schedule after `after` (default now), ms; none while it is paused.
   */
  async nextFireTimes(
    name: string,
    options: { count?: number; after?: number } = {},
  ): Promise<number[]> {
    const { count = 5, after = Date.now() } = options;
    if (!Number.isInteger(count) || count < 1 || count > MAX_NEXT)
      throw new JobValidationError('count', `must be an integer in [1, ${MAX_NEXT}]`);
    if (!Number.isFinite(after) || after < 0)
      throw new JobValidationError('after', 'must be a time in ms since the epoch');
    const s = await this.get(name);
    if (!s) throw new ScheduleNotFoundError(name);
    return upcomingFireTimes(s, after, count);
  }

  async #change(
    name: string,
    by: string | undefined,
    apply: (cur: StoredSchedule) => StoredSchedule,
  ): Promise<StoredSchedule> {
    checkName(name);
    for (let i = 0; ; i++) {
      const e = await this.#kv.get(scheduleKey(name));
      const cur = e?.operation === 'PUT' ? decodeStoredSchedule(e.value) : undefined;
      if (!e || !cur) throw new ScheduleNotFoundError(name);
      const next: StoredSchedule = { ...apply(cur), updatedAt: Date.now() };
      if (by) next.by = by;
      else delete next.by;
      try {
        await this.#kv.update(scheduleKey(name), encodeJson(next), e.revision);
        return next;
      } catch (err) {
        if (!isCasConflict(err) || i >= MAX_CAS_TRIES) throw err;
      }
    }
  }
}
