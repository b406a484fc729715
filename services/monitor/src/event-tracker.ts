/**
 * The live view of job events. An ordered consumer reads the events stream
 * (`<prefix>.events.<type>.<priority>.<state>`) from `historyMs` ago, so a
 * monitor that starts (or becomes leader) knows the recent past at once, then
 * follows new events as they are published. From them it keeps rolling counts
 * (rates, the failed-jobs window), the sweeps in progress (jobs that report
 * progress), and a short list of recent events, and fans events out to
 * listeners (the dashboard's event stream, the Prometheus counters).
 */
import { DeliverPolicy, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { CoreContext, JobEvent, Logger } from '@rfw/core/internal';
import { RollingCounts } from './rolling-counts.js';

/** A job that reported progress: a sweep (healing, indexing, cleanup...) or any long job. */
export interface Sweep {
  id: string;
  type: string;
  priority: string;
  workerId?: string;
  attempt?: number;
  /** Units done so far, as last reported. */
  done: number;
  total?: number;
  message?: string;
  /** `running` until the job's attempt ends; `stale` when it stopped reporting. */
  state: 'running' | 'succeeded' | 'dead' | 'cancelled' | 'retrying' | 'stale';
  /** First progress seen, ms since the epoch. */
  startedAt: number;
  /** Last progress seen, ms since the epoch. */
  updatedAt: number;
  finishedAt?: number;
  /** Units per second since `startedAt`. */
  ratePerSec?: number;
  /** Estimated ms left, when `total` is known and progress was made. */
  etaMs?: number;
  /** Bytes done, when the sweep reports them (storage sweeps: `SweepProgress.bytesDone`). */
  bytesDone?: number;
  /** Bytes per second, when the sweep reports them (`SweepProgress.bytesPerSec`). */
  bytesPerSec?: number;
}

/** A progress field a sweep may add beside done/total/message: a finite number >= 0, else undefined. */
function sweepNumber(p: object, key: string): number | undefined {
  const v = (p as Record<string, unknown>)[key];
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

export interface TrackedEvent {
  event: JobEvent;
  /** Stream sequence of the event. */
  seq: number;
  /** True for events read from history at start, false for live ones. */
  replayed: boolean;
}

export interface EventTrackerOptions {
  /** How far back to read at start, ms. */
  historyMs: number;
  /**
   * How far back counts are kept, ms: at least the longest window asked of
   * them (rates, the failed-jobs window, the 10-minute timeline).
   * @default max(historyMs, 10 minutes)
   */
  spanMs?: number;
  /** A running sweep silent this long is marked stale, ms. @default 600000 */
  sweepStaleMs?: number;
  /** Finished sweeps are listed this long, ms. @default 600000 */
  sweepKeepMs?: number;
  /** Recent events kept for new listeners. @default 300 */
  recentEvents?: number;
  log: Logger;
}

/** States that end an attempt: a sweep reported by that attempt is over. */
const ATTEMPT_ENDS = new Set(['succeeded', 'dead', 'cancelled', 'retrying']);

export class EventTracker {
  readonly counts: RollingCounts;
  /** Sweeps by job id, with the units done at the first progress seen (for the rate). */
  readonly #sweeps = new Map<string, Sweep & { baseDone: number }>();
  readonly #recent: JobEvent[] = [];
  readonly #listeners = new Set<(e: TrackedEvent) => void>();
  readonly #opts: Required<Omit<EventTrackerOptions, 'log'>>;
  readonly #log: Logger;
  #messages?: ConsumerMessages;
  #loop?: Promise<void>;
  #lastSeqAtStart = 0;
  #caughtUp = false;
  #resolveCaughtUp!: () => void;
  /** Resolves once every event retained at start (within `historyMs`) has been read. */
  readonly caughtUp: Promise<void>;
  #eventsSeen = 0;
  #malformed = 0;

  constructor(
    private readonly ctx: CoreContext,
    opts: EventTrackerOptions,
  ) {
    this.#log = opts.log;
    this.#opts = {
      historyMs: opts.historyMs,
      spanMs: Math.max(opts.spanMs ?? 0, opts.historyMs, 600_000),
      sweepStaleMs: opts.sweepStaleMs ?? 600_000,
      sweepKeepMs: opts.sweepKeepMs ?? 600_000,
      recentEvents: opts.recentEvents ?? 300,
    };
    this.counts = new RollingCounts(bucketFor(this.#opts.spanMs), this.#opts.spanMs);
    this.caughtUp = new Promise((r) => (this.#resolveCaughtUp = r));
  }

  get isCaughtUp(): boolean {
    return this.#caughtUp;
  }
  /** Events read since start (history included). */
  get eventsSeen(): number {
    return this.#eventsSeen;
  }
  get malformedEvents(): number {
    return this.#malformed;
  }

  /** Start reading; resolves once the consumer exists (not when history is read: see `caughtUp`). */
  async start(): Promise<void> {
    const { ctx } = this;
    const startAt = Date.now() - this.#opts.historyMs;
    const info = await ctx.jsm.streams.info(ctx.names.eventsStream);
    const lastTs = info.state.last_ts ? Date.parse(info.state.last_ts) : 0;
    this.#lastSeqAtStart = info.state.last_seq;
    if (info.state.messages === 0 || lastTs < startAt) this.#markCaughtUp();
    const consumer = await ctx.js.consumers.get(ctx.names.eventsStream, {
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: new Date(startAt).toISOString(),
    });
    this.#messages = await consumer.consume();
    const messages = this.#messages;
    this.#loop = (async () => {
      for await (const m of messages) this.#onMessage(m);
    })().catch((err: unknown) => this.#log.error({ err }, 'event consumer stopped'));
  }

  #markCaughtUp(): void {
    if (this.#caughtUp) return;
    this.#caughtUp = true;
    this.#resolveCaughtUp();
  }

  #onMessage(m: JsMsg): void {
    const replayed = m.seq <= this.#lastSeqAtStart;
    let ev: JobEvent;
    try {
      ev = m.json<JobEvent>();
      if (!ev || typeof ev.id !== 'string' || typeof ev.state !== 'string')
        throw new Error('shape');
    } catch {
      this.#malformed++;
      if (m.seq >= this.#lastSeqAtStart) this.#markCaughtUp();
      return;
    }
    // The subject is authoritative for type, priority and state.
    const parts = m.subject.split('.');
    const type = parts[2] ?? ev.type;
    const priority = parts[3] ?? String(ev.priority);
    const state = (parts[4] ?? ev.state) as JobEvent['state'];
    const at = Math.floor(m.info.timestampNanos / 1e6);
    const event: JobEvent = { ...ev, type, priority, state, at: ev.at ?? at };
    this.#eventsSeen++;
    this.counts.add(type, priority, state, at);
    this.#trackSweep(event, at);
    if (state !== 'progress') {
      this.#recent.push(event);
      if (this.#recent.length > this.#opts.recentEvents)
        this.#recent.splice(0, this.#recent.length - this.#opts.recentEvents);
    }
    if (m.seq >= this.#lastSeqAtStart) this.#markCaughtUp();
    const tracked: TrackedEvent = { event, seq: m.seq, replayed };
    for (const l of this.#listeners) {
      try {
        l(tracked);
      } catch (err) {
        this.#log.warn({ err }, 'event listener failed');
      }
    }
  }

  #trackSweep(ev: JobEvent, at: number): void {
    if (ev.state === 'progress' && ev.progress) {
      const p = ev.progress;
      const prev = this.#sweeps.get(ev.id);
      const fresh = !prev || prev.state !== 'running' || prev.attempt !== ev.attempt;
      const startedAt = fresh ? at : prev.startedAt;
      const done = Number(p.done) || 0;
      const s: Sweep & { baseDone: number } = {
        id: ev.id,
        type: ev.type,
        priority: String(ev.priority),
        workerId: ev.workerId,
        attempt: ev.attempt,
        done,
        total: typeof p.total === 'number' ? p.total : undefined,
        message: typeof p.message === 'string' ? p.message.slice(0, 500) : undefined,
        state: 'running',
        startedAt,
        updatedAt: at,
        baseDone: fresh ? done : prev.baseDone,
        bytesDone: sweepNumber(p, 'bytesDone'),
        bytesPerSec: sweepNumber(p, 'bytesPerSec'),
      };
      const elapsed = (at - startedAt) / 1000;
      if (elapsed > 0) s.ratePerSec = (done - s.baseDone) / elapsed;
      if (s.total !== undefined && s.ratePerSec && s.ratePerSec > 0)
        s.etaMs = Math.max(0, Math.round(((s.total - s.done) / s.ratePerSec) * 1000));
      this.#sweeps.delete(ev.id);
      this.#sweeps.set(ev.id, s);
      return;
    }
    if (ATTEMPT_ENDS.has(ev.state)) {
      const s = this.#sweeps.get(ev.id);
      if (s && s.state === 'running') {
        s.state = ev.state as Sweep['state'];
        s.finishedAt = at;
        s.etaMs = undefined;
        if (ev.state === 'succeeded' && s.total !== undefined) s.done = Math.max(s.done, s.total);
      }
    }
  }

  /** Running sweeps first (most recently updated first), then recently finished ones. */
  sweeps(now = Date.now()): Sweep[] {
    const out: Sweep[] = [];
    for (const [id, s] of this.#sweeps) {
      if (s.state === 'running' && now - s.updatedAt > this.#opts.sweepStaleMs) {
        s.state = 'stale';
        s.finishedAt = s.updatedAt;
      }
      if (s.state !== 'running' && now - (s.finishedAt ?? s.updatedAt) > this.#opts.sweepKeepMs) {
        this.#sweeps.delete(id);
        continue;
      }
      const { baseDone: _base, ...sweep } = s;
      out.push(sweep);
    }
    const rank = (s: Sweep): number => (s.state === 'running' ? 0 : 1);
    return out.sort((a, b) => rank(a) - rank(b) || b.updatedAt - a.updatedAt);
  }

  /** The last events (progress excluded), oldest first. */
  recent(limit = this.#opts.recentEvents): JobEvent[] {
    return this.#recent.slice(-limit);
  }

  /** Call `cb` for every event read from now on (history included while replaying). */
  subscribe(cb: (e: TrackedEvent) => void): () => void {
    this.#listeners.add(cb);
    return () => this.#listeners.delete(cb);
  }

  async stop(): Promise<void> {
    try {
      await this.#messages?.close();
    } catch (err) {
      this.#log.debug({ err }, 'closing the event consumer failed');
    }
    await this.#loop;
    this.#listeners.clear();
  }
}

/** The finest bucket (dividing the dashboard's 10 s steps) that keeps at most 1200 per series. */
function bucketFor(spanMs: number): number {
  for (const b of [1000, 2000, 5000, 10_000, 30_000, 60_000]) if (spanMs / b <= 1200) return b;
  return Math.ceil(spanMs / 1200 / 60_000) * 60_000;
}
