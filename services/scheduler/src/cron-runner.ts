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
import { Cron } from 'croner';
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
  otelContext,
  otelTrace,
  startSpan,
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

const crons = new WeakMap<Schedule, Cron>();

/** Next fire time strictly after `after` (ms), or undefined when the schedule has no more. */
export function nextFireTime(s: Schedule, after: number): number | undefined {
  if (s.everyMs !== undefined) return (Math.floor(after / s.everyMs) + 1) * s.everyMs;
  let cron = crons.get(s);
  if (!cron) {
    cron = new Cron(s.cron as string, { timezone: s.timezone, paused: true });
    crons.set(s, cron);
  }
  return cron.nextRun(new Date(after))?.getTime();
}

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

export class CronRunner {
  #runners: ScheduleRunner[] = [];

  constructor(private readonly o: CronRunnerOptions) {}

  /** Start every schedule (on becoming leader). */
  start(): void {
    this.stop();
    this.#runners = this.o.schedules.map((s) => new ScheduleRunner(this.o, s));
    for (const r of this.#runners) r.start();
  }

  /** Stop at once (on losing leadership or shutting down). */
  stop(): void {
    for (const r of this.#runners) r.stop();
    this.#runners = [];
  }

  /** The last state seen of each schedule. */
  status(): Array<{ name: string; lastFireAt?: number; nextFireAt?: number }> {
    return this.#runners.map((r) => r.status());
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

  constructor(
    private readonly o: CronRunnerOptions,
    private readonly s: Schedule,
  ) {
    this.#key = cronKey(s.name);
    this.#log = o.log.child({ schedule: s.name });
  }

  get #kv(): KV {
    return this.o.ctx.control;
  }

  status(): { name: string; lastFireAt?: number; nextFireAt?: number } {
    const cursor = this.#state?.cursor;
    return {
      name: this.s.name,
      lastFireAt: this.#state?.lastFireAt,
      nextFireAt: cursor === undefined ? undefined : nextFireTime(this.s, cursor),
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
    // Times older than the grace window are never fired: start the walk there.
    let t = Math.max(st.cursor, now - this.s.misfireGraceMs - ON_TIME_MS - 1);
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
      const next = nextFireTime(this.s, (this.#state as CronState).cursor);
      if (next === undefined) return;
      delay = Math.min(3600_000, Math.max(0, next - Date.now()));
    }
    this.#timer = setTimeout(() => void this.#tick(), delay);
  }
}
