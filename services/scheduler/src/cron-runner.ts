/**
 * `CronRunner`: the leader fires periodic jobs. Exactly one job per fire time,
 * however many instances run and across leader changes:
 *
 * - the job id (and `Nats-Msg-Id`) is `<schedule name>-<fire time ms>`, so a
 *   second enqueue of the same fire time is a no-op;
 * - `<prefix>_control.cron.<name>` keeps the schedule's cursor (fire times up
 *   to it are handled). A fire is claimed there first (`pending`), then
 *   enqueued, then confirmed; a new leader re-enqueues a claimed but
 *   unconfirmed fire (idempotently) and knows what was fired.
 * - every write is a compare-and-set on the key's revision and carries the
 *   leader's fencing token; a writer that finds a larger token stops.
 *
 * Misfires (fire times more than a second late: no leader, a stalled
 * process) follow the schedule's policy: `latest` fires once for the latest
 * missed time within `misfireGraceMs`, `all` fires each missed time within
 * the grace window, `skip` fires none. Times older than the grace window are
 * never fired.
 */
import type { KV } from '@nats-io/kv';
import {
  JobValidationError,
  PayloadTooLargeError,
  decodeJson,
  encodeJson,
  isCasConflict,
  type CoreContext,
  type JobQueue,
  type Logger,
  type Priority,
  SpanKind,
  TraceAttr,
  failSpan,
  nextFireTime,
  otelContext,
  otelTrace,
  startSpan,
  type StoredSchedule,
} from '@rfw/core/internal';
import type { Schedule } from './config.js';
import type { SchedulerMetrics } from './metrics.js';

/** Value of `<prefix>_control.cron.<name>`. */
export interface CronState {
  v: 1;
  /** Fire times up to and including this one are handled (fired or skipped), ms since the epoch. */
  cursor: number;
  /** A fire time claimed but not yet confirmed enqueued. */
  pending?: number;
  lastFireAt?: number;
  lastJobId?: string;
  /** Fencing token of the leader that wrote this. */
  token: number;
  /** nodeId of that leader. */
  by: string;
  updatedAt: number;
}

export const cronKey = (name: string): string => `cron.${name}`;
export const cronJobId = (name: string, fireAt: number): string => `${name}-${fireAt}`;

/** A fire time less late than this is on time, whatever the misfire policy, ms. */
export const ON_TIME_MS = 1000;
/** Most fire times considered at once. */
const MAX_DUE = 10_000;

/** Which of the due fire times to fire, by the schedule's misfire policy. */
export function planFires(s: Schedule, due: number[], now: number): number[] {
  const onTime = due.filter((t) => now - t <= ON_TIME_MS);
  const missed = due.filter((t) => now - t > ON_TIME_MS && now - t <= s.misfireGraceMs);
  switch (s.misfire) {
    case 'all':
      return [...missed, ...onTime];
    case 'skip':
      return onTime;
    default:
      return onTime.length ? onTime : missed.slice(-1);
  }
}

class FencedError extends Error {
  constructor(readonly theirs: number) {
    super(`fenced: the cron state was written by a newer leader (token ${theirs})`);
    this.name = 'FencedError';
  }
}

export interface CronRunnerOptions {
  ctx: CoreContext;
  queue: JobQueue;
  schedules: Schedule[];
  nodeId: string;
  isLeader: () => boolean;
  /** The election's current fencing token. */
  token: () => number | undefined;
  metrics: SchedulerMetrics;
  log: Logger;
}

/** Where a schedule comes from: the scheduler's file or environment, or the control bucket. */
export type ScheduleSource = 'config' | 'stored';

/** What `CronRunner.status()` reports of one schedule. */
export interface ScheduleStatus {
  name: string;
  source: ScheduleSource;
  lastFireAt?: number;
  nextFireAt?: number;
}

/**
 * Runs the leader's schedules: the configured ones (fixed at start) and the
 * stored ones (`JobQueue.schedules`), which `setStored()` replaces whenever
 * the control bucket changes. A stored schedule whose name a configured one
 * has is ignored (the file wins, with a warning). A changed schedule's runner
 * is replaced; it fires only times after the change.
 */
export class CronRunner {
  #runners = new Map<string, ScheduleRunner>();
  #stored = new Map<string, StoredSchedule>();
  #active = false;
  readonly #warned = new Set<string>();

  constructor(private readonly o: CronRunnerOptions) {}

  /** Start every schedule (on becoming leader). */
  start(): void {
    this.stop();
    this.#active = true;
    this.#apply();
  }

  /** Stop at once (on losing leadership or shutting down). */
  stop(): void {
    this.#active = false;
    for (const r of this.#runners.values()) r.stop();
    this.#runners.clear();
  }

  /** The stored schedules now (paused ones included); applied at once when leading. */
  setStored(stored: Map<string, StoredSchedule>): void {
    this.#stored = stored;
    if (this.#active) this.#apply();
  }

  /** The last state seen of each running schedule. */
  status(): ScheduleStatus[] {
    return [...this.#runners.values()].map((r) => r.status());
  }

  /** The schedules that should run: the configured ones, then the unpaused stored ones. */
  #wanted(): Map<string, { s: Schedule; source: ScheduleSource; notBefore?: number }> {
    const out = new Map<string, { s: Schedule; source: ScheduleSource; notBefore?: number }>();
    for (const s of this.o.schedules) out.set(s.name, { s, source: 'config' });
    for (const [name, st] of this.#stored) {
      if (out.has(name)) {
        if (!this.#warned.has(name)) {
          this.#warned.add(name);
          this.o.log.warn(
            { schedule: name },
            'stored schedule ignored: a configured one has its name',
          );
        }
        continue;
      }
      if (!st.paused) out.set(name, { s: st.schedule, source: 'stored', notBefore: st.updatedAt });
    }
    return out;
  }

  #apply(): void {
    const wanted = this.#wanted();
    for (const [name, r] of this.#runners) {
      const w = wanted.get(name);
      if (!w || !r.runs(w.s, w.notBefore)) {
        r.stop();
        this.#runners.delete(name);
        this.o.log.info({ schedule: name }, w ? 'schedule changed' : 'schedule stopped');
      }
    }
    for (const [name, w] of wanted) {
      if (this.#runners.has(name)) continue;
      const r = new ScheduleRunner(this.o, w.s, w.source, w.notBefore);
      this.#runners.set(name, r);
      r.start();
    }
  }
}

class ScheduleRunner {
  readonly #key: string;
  readonly #log: Logger;
  #state?: CronState;
  #revision = 0;
  #active = false;
  #timer?: NodeJS.Timeout;
  #busy = false;

  readonly #def: string;

  constructor(
    private readonly o: CronRunnerOptions,
    private readonly s: Schedule,
    private readonly source: ScheduleSource,
    /** Only fire times after this (a stored schedule's last change), ms. */
    private readonly notBefore = 0,
  ) {
    this.#key = cronKey(s.name);
    this.#log = o.log.child({ schedule: s.name });
    this.#def = JSON.stringify(s);
  }

  /** Whether this runner runs `s` as of `notBefore` (else it is replaced). */
  runs(s: Schedule, notBefore = 0): boolean {
    return notBefore === this.notBefore && JSON.stringify(s) === this.#def;
  }

  /** Fire times up to this one are handled or before the schedule's last change. */
  get #from(): number {
    return Math.max((this.#state as CronState).cursor, this.notBefore);
  }

  get #kv(): KV {
    return this.o.ctx.control;
  }

  status(): ScheduleStatus {
    return {
      name: this.s.name,
      source: this.source,
      lastFireAt: this.#state?.lastFireAt,
      nextFireAt: this.#state ? nextFireTime(this.s, this.#from) : undefined,
    };
  }

  start(): void {
    this.#active = true;
    void this.#tick();
  }

  stop(): void {
    this.#active = false;
    clearTimeout(this.#timer);
  }

  #myToken(): number {
    const t = this.o.token();
    if (!this.#active || t === undefined || !this.o.isLeader()) throw new FencedError(-1);
    return t;
  }

  async #load(): Promise<void> {
    const token = this.#myToken();
    for (;;) {
      const e = await this.#kv.get(this.#key);
      if (e?.operation === 'PUT') {
        this.#state = decodeJson<CronState>(e.value);
        this.#revision = e.revision;
        return;
      }
      // First run of this schedule: only fire times from now on.
      const init: CronState = {
        v: 1,
        cursor: Date.now(),
        token,
        by: this.o.nodeId,
        updatedAt: Date.now(),
      };
      try {
        this.#revision = await this.#kv.create(this.#key, encodeJson(init));
        this.#state = init;
        return;
      } catch (err) {
        if (!isCasConflict(err)) throw err;
      }
    }
  }

  async #write(patch: Partial<CronState>): Promise<void> {
    const token = this.#myToken();
    const cur = this.#state as CronState;
    if (cur.token > token) throw new FencedError(cur.token);
    const next: CronState = {
      ...cur,
      ...patch,
      token,
      by: this.o.nodeId,
      updatedAt: Date.now(),
    };
    if ('pending' in patch && patch.pending === undefined) delete next.pending;
    try {
      this.#revision = await this.#kv.update(this.#key, encodeJson(next), this.#revision);
      this.#state = next;
    } catch (err) {
      if (!isCasConflict(err)) throw err;
      await this.#load();
      if ((this.#state as CronState).token > token)
        throw new FencedError((this.#state as CronState).token);
      throw err;
    }
  }

  async #enqueue(fireAt: number): Promise<void> {
    const id = cronJobId(this.s.name, fireAt);
    if (await this.o.ctx.records.get(id)) return;
    this.#myToken();
    // A root span per fire; the job's enqueue span is its child.
    const span = startSpan(`rfw.cron ${this.s.name}`, SpanKind.PRODUCER, {
      'rfw.cron.schedule': this.s.name,
      'rfw.cron.fire_at': fireAt,
      [TraceAttr.JobId]: id,
      [TraceAttr.JobType]: this.s.type,
    });
    try {
      await otelContext.with(otelTrace.setSpan(otelContext.active(), span), () =>
        this.o.queue.schedule(this.s.type, this.s.payload, {
          id,
          priority: this.s.priority as Priority | undefined,
          maxRetries: this.s.maxRetries,
          timeout: this.s.timeout,
        }),
      );
      span.end();
    } catch (err) {
      failSpan(span, err);
      if (err instanceof JobValidationError || err instanceof PayloadTooLargeError) {
        // Not going to get better by retrying: count it and move on.
        this.o.metrics.cronErrors.inc({ schedule: this.s.name });
        this.#log.error({ err: err.message, fireAt }, 'periodic job rejected');
        return;
      }
      throw err;
    }
    this.o.metrics.cronFires.inc({ schedule: this.s.name });
    this.#log.info({ jobId: id, fireAt, type: this.s.type }, 'periodic job fired');
  }

  async #tick(): Promise<void> {
    if (!this.#active || this.#busy) return;
    this.#busy = true;
    let retryInMs: number | undefined;
    try {
      if (!this.#state) await this.#load();
      const st = this.#state as CronState;
      if (st.pending !== undefined) {
        await this.#enqueue(st.pending);
        await this.#write({ pending: undefined, lastFireAt: st.pending });
      }
      const now = Date.now();
      const due = this.#dueTimes(now);
      const fires = planFires(this.s, due, now);
      for (const t of fires) {
        await this.#write({ cursor: t, pending: t });
        await this.#enqueue(t);
        await this.#write({
          pending: undefined,
          lastFireAt: t,
          lastJobId: cronJobId(this.s.name, t),
        });
      }
      const last = due.at(-1);
      if (last !== undefined && last > (this.#state as CronState).cursor)
        await this.#write({ cursor: last });
      const skipped = due.length - fires.length;
      if (skipped > 0) {
        this.o.metrics.cronMisfires.inc({ schedule: this.s.name }, skipped);
        this.#log.warn({ skipped, policy: this.s.misfire }, 'missed fire times skipped');
      }
    } catch (err) {
      if (err instanceof FencedError) {
        if (err.theirs >= 0) this.#log.warn({ err: err.message }, 'schedule stopped');
        this.stop();
      } else {
        this.#log.warn({ err: (err as Error).message }, 'schedule tick failed; will retry');
        retryInMs = 1000;
      }
    } finally {
      this.#busy = false;
    }
    this.#arm(retryInMs);
  }

  #dueTimes(now: number): number[] {
    const st = this.#state as CronState;
    // Times older than the grace window, or before the schedule's last change,
    // are never fired: start the walk there.
    let t = Math.max(st.cursor, this.notBefore, now - this.s.misfireGraceMs - ON_TIME_MS - 1);
    const due: number[] = [];
    for (;;) {
      const next = nextFireTime(this.s, t);
      if (next === undefined || next > now) break;
      due.push(next);
      if (due.length > MAX_DUE) due.shift();
      t = next;
    }
    return due;
  }

  #arm(retryInMs?: number): void {
    if (!this.#active) return;
    clearTimeout(this.#timer);
    let delay = retryInMs;
    if (delay === undefined) {
      const next = nextFireTime(this.s, this.#from);
      if (next === undefined) return;
      delay = Math.min(3600_000, Math.max(0, next - Date.now()));
    }
    this.#timer = setTimeout(() => void this.#tick(), delay);
  }
}
