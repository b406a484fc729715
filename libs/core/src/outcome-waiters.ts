/**
 * Waiting for a job's outcome without polling: a core NATS subscription to
 * the terminal events of the job's type (`<prefix>.events.<type>.*.<state>`
 * for `succeeded`, `dead`, `cancelled`), made once per type and shared by
 * every waiter of one `JobQueue`, dropped after a minute with no waiter.
 *
 * Nothing is missed: a waiter registers, the subscription is confirmed by the
 * server (a flush), and only then is the record read. A worker writes the
 * record before it publishes the terminal event, so an outcome reached
 * before that read is in the record, and one reached after it arrives as an
 * event. An event only wakes the waiter; the outcome returned is the record.
 */
import type { Subscription } from '@nats-io/nats-core';
import type { CoreContext } from './context.js';
import {
  JobCancelledError,
  JobFailedError,
  JobNotFoundError,
  JobValidationError,
  WaitAbortedError,
  WaitTimeoutError,
} from './errors.js';
import { TERMINAL_STATES, type Job } from './job.js';
import { decodeJson } from './wire.js';

/** Options of `JobQueue.waitFor()`. */
export interface WaitOptions {
  /** Give up after this many ms with `WaitTimeoutError` (the job goes on). @default no limit */
  timeout?: number;
  /** Give up when this fires, with `WaitAbortedError` (the job goes on). */
  signal?: AbortSignal;
}

const TERMINAL_EVENT_STATES = ['succeeded', 'dead', 'cancelled'] as const;
/** A type's subscription is kept this long after its last waiter left. */
const LINGER_MS = 60_000;
const MAX_TIMEOUT_MS = 2_147_483_647;

interface TypeWatch {
  subs: Subscription[];
  /** Resolves once the server has the subscriptions. */
  ready: Promise<void>;
  waiters: number;
  linger?: NodeJS.Timeout;
}

/** Validate `WaitOptions`; throws `JobValidationError` naming the field. */
export function checkWaitOptions(o: WaitOptions): void {
  if (o.timeout !== undefined) {
    if (!Number.isInteger(o.timeout) || o.timeout < 1 || o.timeout > MAX_TIMEOUT_MS)
      throw new JobValidationError('timeout', `must be an integer in [1, ${MAX_TIMEOUT_MS}] ms`);
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal))
    throw new JobValidationError('signal', 'must be an AbortSignal');
}

/** The outcome of an ended job: the record, or the typed error it stands for. */
function settle(job: Job): Job {
  if (job.state === 'succeeded') return job;
  if (job.state === 'cancelled') throw new JobCancelledError(job.id, job);
  throw new JobFailedError(job.id, job.deadReason ?? 'dead', job.lastError ?? undefined, job);
}

export class OutcomeWaiters {
  readonly #watches = new Map<string, TypeWatch>();
  /** Wake-ups by job id (several waiters may wait for one job). */
  readonly #wake = new Map<string, Set<() => void>>();

  constructor(
    private readonly ctx: CoreContext,
    /** Reads a job the way `JobQueue.get()` does. */
    private readonly read: (id: string) => Promise<Job | undefined>,
  ) {}

  /**
   * Resolve with `id`'s record once it ends `succeeded`; reject with
   * `JobFailedError` (dead), `JobCancelledError`, `WaitTimeoutError`,
   * `WaitAbortedError`, or `JobNotFoundError` when no such job exists.
   * `type` skips the first read when the caller knows it (it just scheduled the job).
   */
  async wait(id: string, opts: WaitOptions, type?: string): Promise<Job> {
    if (opts.signal?.aborted) throw new WaitAbortedError(id, { cause: opts.signal.reason });
    if (type === undefined) {
      const first = await this.read(id);
      if (!first) throw new JobNotFoundError(id);
      if (TERMINAL_STATES.has(first.state)) return settle(first);
      type = first.type;
    }
    let wake!: () => void;
    let woken = new Promise<void>((r) => (wake = r));
    const wakers = this.#wake.get(id) ?? new Set();
    const onEvent = (): void => wake();
    wakers.add(onEvent);
    this.#wake.set(id, wakers);
    const watch = this.#watch(type);
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const giveUp = new Promise<never>((_, reject) => {
      if (opts.timeout !== undefined)
        timer = setTimeout(() => reject(new WaitTimeoutError(id, opts.timeout ?? 0)), opts.timeout);
      if (opts.signal) {
        onAbort = () => reject(new WaitAbortedError(id, { cause: opts.signal?.reason }));
        opts.signal.addEventListener('abort', onAbort, { once: true });
        // Aborted while the first read was on its way: no event comes now.
        if (opts.signal.aborted) onAbort();
      }
    });
    try {
      await Promise.race([watch.ready, giveUp]);
      for (;;) {
        const job = await Promise.race([this.read(id), giveUp]);
        if (job && TERMINAL_STATES.has(job.state)) return settle(job);
        await Promise.race([woken, giveUp]);
        woken = new Promise<void>((r) => (wake = r));
      }
    } finally {
      clearTimeout(timer);
      if (onAbort) opts.signal?.removeEventListener('abort', onAbort);
      wakers.delete(onEvent);
      if (wakers.size === 0) this.#wake.delete(id);
      this.#release(type, watch);
    }
  }

  /** Close every subscription (the queue is closing). */
  close(): void {
    for (const w of this.#watches.values()) {
      clearTimeout(w.linger);
      for (const s of w.subs) s.unsubscribe();
    }
    this.#watches.clear();
  }

  #watch(type: string): TypeWatch {
    let w = this.#watches.get(type);
    if (!w) {
      const { nc, names } = this.ctx;
      const subs = TERMINAL_EVENT_STATES.map((state) =>
        nc.subscribe(names.eventSubject(type, '*', state), {
          callback: (err, msg) => {
            if (err || this.#wake.size === 0) return;
            let id: string | undefined;
            try {
              id = decodeJson<{ id?: string }>(msg.data).id;
            } catch {
              return; // not an event body: nothing to wake
            }
            if (id) for (const f of this.#wake.get(id) ?? []) f();
          },
        }),
      );
      w = { subs, ready: nc.flush(), waiters: 0 };
      this.#watches.set(type, w);
    }
    clearTimeout(w.linger);
    w.linger = undefined;
    w.waiters++;
    return w;
  }

  #release(type: string, w: TypeWatch): void {
    if (--w.waiters > 0) return;
    w.linger = setTimeout(() => {
      if (w.waiters > 0 || this.#watches.get(type) !== w) return;
      this.#watches.delete(type);
      for (const s of w.subs) s.unsubscribe();
    }, LINGER_MS);
    w.linger.unref();
  }
}
