/**
 * Follow a job to its end: live events on `<prefix>.events.<type>.*.*` drive
 * the progress bar, and the job record (polled as a fallback, since core NATS
 * events can be missed) decides when it has ended.
 */
import type { Subscription } from '@nats-io/nats-core';
import { decodeJson, TERMINAL_STATES, type Job, type JobEvent } from '@rfw/core/internal';
import type { CommandContext } from './context.js';
import { ExitCode } from './errors.js';
import { duration } from './output.js';
import { ProgressBar } from './progress-bar.js';
import { formatSweepRates } from './sweep-rates.js';

export interface FollowOptions {
  /** How often the job record is read when no event says it ended, ms. @default 1000 */
  pollMs?: number;
  /** Draw a progress bar (not with `--json`). @default true */
  bar?: boolean;
}

/** The end of a followed job: the job as recorded, or an interruption. */
export type FollowOutcome = { kind: 'ended'; job: Job } | { kind: 'interrupted'; job?: Job };

/**
 * Subscribes before the job is scheduled, so no event is missed: create it,
 * schedule, then `wait(id)`.
 */
export class JobFollower {
  readonly #events = new Map<string, JobEvent[]>();
  #listener?: (ev: JobEvent) => void;

  private constructor(
    private readonly ctx: CommandContext,
    private readonly sub: Subscription,
  ) {
    void (async () => {
      for await (const m of sub) {
        let ev: JobEvent;
        try {
          ev = decodeJson<JobEvent>(m.data);
        } catch {
          continue;
        }
        if (typeof ev?.id !== 'string') continue;
        if (this.#listener) this.#listener(ev);
        else {
          const list = this.#events.get(ev.id) ?? [];
          if (list.length < 1000) list.push(ev);
          this.#events.set(ev.id, list);
        }
      }
    })();
  }

  /** Start listening to the events of jobs of `type`. */
  static async start(ctx: CommandContext, type: string): Promise<JobFollower> {
    const session = ctx.session();
    const nc = await session.connection();
    const sub = nc.subscribe(session.names.eventSubject(type, '*', '*'));
    await nc.flush();
    return new JobFollower(ctx, sub);
  }

  /** Wait until job `id` succeeds, dies or is cancelled, drawing progress. */
  async wait(id: string, options: FollowOptions = {}): Promise<FollowOutcome> {
    const { ctx } = this;
    const session = ctx.session();
    const queue = await session.queue();
    const bar = options.bar === false ? undefined : new ProgressBar(ctx.io.stderr);
    let last: Job | undefined;
    let phase = 'pending';
    let wake: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const poke = (): void => wake?.();

    const onEvent = (ev: JobEvent): void => {
      if (ev.id !== id) return;
      phase = ev.state === 'progress' ? 'running' : ev.state;
      if (ev.state === 'progress' && ev.progress) {
        const rates = formatSweepRates(ev.progress);
        const text = ev.progress.message;
        bar?.progress(ev.progress.done, ev.progress.total, {
          state: 'running',
          message: rates && text ? `${rates} | ${text}` : rates || text,
        });
      } else if (ev.state === 'retrying') {
        bar?.state({
          state: 'retrying',
          message: `attempt ${ev.attempt ?? '?'} failed: ${ev.error ?? 'error'}; next in ${duration(ev.retryInMs) ?? '?'}`,
        });
      } else if (ev.state === 'deferred') {
        bar?.state({ state: 'deferred', message: ev.reason });
      } else if (ev.state === 'running') {
        bar?.state({
          state: 'running',
          message: `attempt ${ev.attempt ?? 1} on ${ev.workerId ?? '?'}`,
        });
      }
      if (TERMINAL_STATES.has(ev.state as Job['state'])) poke();
    };
    for (const ev of this.#events.get(id) ?? []) onEvent(ev);
    this.#events.clear();
    this.#listener = onEvent;

    const aborted = new Promise<'abort'>((resolve) => {
      if (ctx.signal.aborted) resolve('abort');
      ctx.signal.addEventListener('abort', () => resolve('abort'), { once: true });
    });
    const lost = session.lost();
    try {
      for (;;) {
        last = await queue.get(id);
        if (last && TERMINAL_STATES.has(last.state)) {
          bar?.stop({ state: last.state, message: endMessage(last) });
          return { kind: 'ended', job: last };
        }
        if (last?.state === 'delayed' && phase !== 'delayed') {
          phase = 'delayed';
          bar?.state({
            state: 'delayed',
            message: `runs at ${new Date(last.runAt).toISOString()}`,
          });
        }
        const tick = new Promise<'tick'>((resolve) => {
          timer = setTimeout(() => resolve('tick'), options.pollMs ?? 1000);
          wake = () => {
            clearTimeout(timer);
            resolve('tick');
          };
        });
        const r = await Promise.race([tick, aborted, lost]);
        if (r === 'abort') {
          bar?.stop({ state: phase, message: 'stopped following' });
          return { kind: 'interrupted', job: last };
        }
      }
    } finally {
      clearTimeout(timer);
      bar?.stop();
      this.#listener = undefined;
    }
  }

  close(): void {
    this.sub.unsubscribe();
  }
}

function endMessage(job: Job): string {
  if (job.state === 'succeeded') return `done in ${duration(job.updatedAt - job.createdAt) ?? '?'}`;
  if (job.state === 'dead') return whyDead(job);
  return 'cancelled';
}

/** The dead reason and the last error, without saying the same thing twice. */
function whyDead(job: Job): string {
  const reason = job.deadReason;
  const last = job.lastError;
  if (reason && last && !reason.includes(last)) return `${reason}: ${last}`;
  return reason ?? last ?? 'unknown reason';
}

/**
 * Print how a followed job ended and return the exit code: 0 succeeded,
 * 1 dead or cancelled, 130 interrupted (the job keeps running).
 */
export function reportOutcome(ctx: CommandContext, outcome: FollowOutcome, what: string): number {
  const { out } = ctx;
  if (outcome.kind === 'interrupted') {
    const id = outcome.job?.id;
    out.note(`stopped following ${what}; it goes on${id ? `: see rfw jobs get ${id}` : ''}`);
    if (out.json && outcome.job) out.data(outcome.job);
    return ExitCode.Interrupted;
  }
  const { job } = outcome;
  if (out.json) {
    out.data(job);
  } else {
    const took = duration(job.updatedAt - job.createdAt);
    if (job.state === 'succeeded') {
      out.line(`${what} ${job.id} succeeded in ${took ?? '?'}`);
      printResult(ctx, job.result);
    } else if (job.state === 'dead') {
      out.line(`${what} ${job.id} is dead after ${job.attempts} attempt(s): ${whyDead(job)}`);
      out.line(`retry it with: rfw jobs retry ${job.id}`);
    } else {
      out.line(`${what} ${job.id} was cancelled`);
    }
  }
  return job.state === 'succeeded' ? ExitCode.Ok : ExitCode.Failed;
}

/** A job result as `key: value` lines (nested values as JSON). */
export function printResult(ctx: CommandContext, result: unknown): void {
  if (result === undefined || result === null) return;
  if (typeof result !== 'object' || Array.isArray(result)) {
    ctx.out.line(`result: ${JSON.stringify(result)}`);
    return;
  }
  ctx.out.fields(
    Object.entries(result as Record<string, unknown>).map(([k, v]) => [
      k,
      typeof v === 'object' && v !== null ? JSON.stringify(v) : (v as string | number | boolean),
    ]),
  );
}
