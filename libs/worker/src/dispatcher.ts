/**
 * Pulling and dispatch for one job type in one instance. Each priority has
 * its own durable consumer, shared by every instance of the type (the broker
 * balances them). A reader per priority keeps at most a small buffer; the
 * dispatcher starts the highest-priority buffered job whenever a slot is
 * free: strict priority by default, or smooth weighted round robin when
 * anti-starvation weights are set. Buffered jobs are kept alive with
 * in-progress acks while they wait.
 *
 * Latency metrics are taken here: a first delivery's time in queue when it is
 * taken to run, an attempt's run time when its handler settles, and one
 * deferral per job held back by the rate limit or handed back by a hold.
 */
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiError,
  type ConsumerMessages,
  type JsMsg,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { PRIORITIES, type Priority } from '@rfw/core';
import { Hdr } from '@rfw/core/internal';
import { runJob, type RunnerDeps, type TypeSpec } from './job-runner.js';
import type { TokenBucket } from './rate-limiter.js';

export interface SlotPool {
  /** Free slots over all types in this instance. */
  free(): number;
  take(): void;
  release(): void;
}

export class TypeDispatcher {
  readonly type: string;
  readonly #buffers = new Map<Priority, JsMsg[]>(PRIORITIES.map((p) => [p, []]));
  readonly #readers = new Map<Priority, ConsumerMessages>();
  readonly #spaceWaiters = new Map<Priority, () => void>();
  readonly #credit = new Map<Priority, number>(PRIORITIES.map((p) => [p, 0]));
  readonly #inFlight = new Set<Promise<void>>();
  #running = 0;
  #finishing = 0;
  /** Messages whose handler is running: kept alive by the ticker. */
  readonly #active = new Set<JsMsg>();
  #pulling = false;
  readonly #restarts = new Set<NodeJS.Timeout>();
  #pumpTimer?: NodeJS.Timeout;
  #ticker?: NodeJS.Timeout;
  /** Set while the type is paused or unhealthy. */
  #holds = new Set<string>();
  /** The priority of the message `pick()` returned last. */
  #picked: Priority = 'normal';
  /** Buffered jobs the rate limit already held back once (each counts one deferral). */
  readonly #rateDeferred = new WeakSet<JsMsg>();

  constructor(
    readonly spec: TypeSpec,
    private readonly deps: RunnerDeps,
    private readonly slots: SlotPool,
    private readonly concurrency: number,
    readonly limiter: TokenBucket | undefined,
  ) {
    this.type = spec.worker.workerType;
  }

  get running(): number {
    return this.#running;
  }
  get buffered(): number {
    let n = 0;
    for (const b of this.#buffers.values()) n += b.length;
    return n;
  }
  get holds(): ReadonlySet<string> {
    return this.#holds;
  }

  /** Create (or update) the durable consumers of this type, one per priority. */
  async ensureConsumers(): Promise<void> {
    const { core, opts } = this.deps;
    for (const p of PRIORITIES) {
      const name = core.names.consumerName(this.type, p);
      const config = {
        durable_name: name,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        filter_subject: core.names.jobFilter(this.type, p),
        ack_wait: nanos(opts.ackWaitMs),
        max_deliver: -1,
        max_ack_pending: 20_000,
        max_waiting: 512,
      };
      try {
        const info = await core.jsm.consumers.info(core.names.jobsStream, name);
        if (
          info.config.ack_wait !== config.ack_wait ||
          info.config.filter_subject !== config.filter_subject
        ) {
          await core.jsm.consumers.update(core.names.jobsStream, name, {
            ack_wait: config.ack_wait,
            filter_subject: config.filter_subject,
          });
        }
      } catch (err) {
        if (!(err instanceof JetStreamApiError) || err.code !== 10014) throw err;
        await core.jsm.consumers.add(core.names.jobsStream, config);
      }
    }
  }

  /** Hold (pause) the type for a reason; pulling stops until every hold is lifted. */
  async hold(reason: string): Promise<void> {
    this.#holds.add(reason);
    await this.stopPulling(reason);
  }

  async release(reason: string): Promise<void> {
    this.#holds.delete(reason);
    if (this.#holds.size === 0) await this.startPulling();
  }

  async startPulling(): Promise<void> {
    if (this.#pulling || this.#holds.size > 0) return;
    this.#pulling = true;
    for (const p of PRIORITIES) {
      try {
        await this.startReader(p);
      } catch (err) {
        // The broker is restarting, say: keep trying in the background.
        this.deps.log.warn({ err, type: this.type, priority: p }, 'could not start the consumer');
        this.restartReader(p, 1000);
      }
    }
    this.#ensureTicker();
  }

  private async startReader(p: Priority): Promise<void> {
    const { core, opts } = this.deps;
    // A reader that starts again may be facing a consumer made anew.
    await this.deps.fresh.attach();
    const consumer = await core.js.consumers.get(
      core.names.jobsStream,
      core.names.consumerName(this.type, p),
    );
    // A missing consumer ends the iterator (and read() starts it again, recreating it)
    // instead of the client polling for it forever.
    const messages = await consumer.consume({
      max_messages: opts.prefetch,
      expires: 5000,
      abort_on_missing_resource: true,
    });
    if (!this.#pulling || this.#readers.has(p)) {
      messages.stop();
      return;
    }
    this.#readers.set(p, messages);
    void this.read(p, messages);
  }

  /**
   * A reader ended while the type is still pulling (the consumer was deleted,
   * or the client gave up on it across a broker restart): start it again,
   * recreating the consumer if need be, until it runs or pulling stops.
   */
  private restartReader(p: Priority, delayMs: number): void {
    const timer = setTimeout(() => {
      this.#restarts.delete(timer);
      if (!this.#pulling || this.#readers.has(p)) return;
      this.startReader(p)
        .then(() => this.deps.log.info({ type: this.type, priority: p }, 'consumer restarted'))
        .catch(async (err: unknown) => {
          this.deps.log.warn(
            { err, type: this.type, priority: p },
            'could not restart the consumer; retrying',
          );
          await this.ensureConsumers().catch(() => undefined);
          this.restartReader(p, Math.min(delayMs * 2, 10_000));
        });
    }, delayMs);
    this.#restarts.add(timer);
  }

  /**
   * One timer for the whole type: in-progress acks for buffered jobs (not
   * started yet) and running ones, so the broker does not redeliver them.
   */
  #ensureTicker(): void {
    if (this.#ticker) return;
    this.#ticker = setInterval(
      () => {
        for (const b of this.#buffers.values()) for (const m of b) m.working();
        for (const m of this.#active) m.working();
        if (!this.#pulling && this.#active.size === 0) {
          clearInterval(this.#ticker);
          this.#ticker = undefined;
        }
      },
      Math.max(500, Math.floor(this.deps.opts.ackWaitMs / 3)),
    );
  }

  private async read(p: Priority, messages: ConsumerMessages): Promise<void> {
    const buf = this.#buffers.get(p) as JsMsg[];
    try {
      for await (const m of messages) {
        if (this.#readers.get(p) !== messages) {
          // Stopped while this message was in flight to us: hand it back.
          m.nak();
          const [hold] = this.#holds;
          if (hold !== undefined) this.#countDeferred(hold, 1);
          continue;
        }
        buf.push(m);
        this.pump();
        if (buf.length >= this.deps.opts.prefetch) {
          await new Promise<void>((resolve) => this.#spaceWaiters.set(p, resolve));
        }
      }
    } catch (err) {
      this.deps.log.warn({ err, type: this.type, priority: p }, 'consumer stopped with an error');
    }
    if (this.#pulling && this.#readers.get(p) === messages) {
      this.#readers.delete(p);
      this.restartReader(p, 500);
    }
  }

  /**
   * Stop pulling and hand buffered jobs back to the broker for other instances.
   * With `deferReason` (a hold: `paused`, `unhealthy`), each job handed back
   * counts one deferral with that reason.
   */
  async stopPulling(deferReason?: string): Promise<void> {
    if (!this.#pulling) return;
    this.#pulling = false;
    const readers = [...this.#readers.values()];
    this.#readers.clear();
    for (const r of readers) r.stop();
    for (const [p, resolve] of this.#spaceWaiters) {
      this.#spaceWaiters.delete(p);
      resolve();
    }
    await Promise.all(readers.map((r) => r.closed().catch(() => undefined)));
    let handedBack = 0;
    for (const b of this.#buffers.values()) {
      for (const m of b.splice(0)) {
        m.nak();
        handedBack++;
      }
    }
    if (deferReason !== undefined && handedBack > 0) this.#countDeferred(deferReason, handedBack);
  }

  #countDeferred(reason: string, n: number): void {
    this.deps.metrics.deferred.inc({ type: this.type, reason }, n);
  }

  /** The message `pick()` would return now, without taking it. */
  private peek(): JsMsg | undefined {
    const weights = this.deps.opts.priorityWeights;
    if (!weights) {
      for (const p of PRIORITIES) {
        const m = this.#buffers.get(p)?.[0];
        if (m) return m;
      }
      return undefined;
    }
    // The same choice as pick()'s round robin, with the credits left as they are.
    let best: Priority | undefined;
    let bestCredit = 0;
    for (const p of PRIORITIES) {
      if (!this.#buffers.get(p)?.length) continue;
      const c = (this.#credit.get(p) ?? 0) + (weights[p] ?? 1);
      if (best === undefined || c > bestCredit) {
        best = p;
        bestCredit = c;
      }
    }
    return best === undefined ? undefined : this.#buffers.get(best)?.[0];
  }

  private pick(): JsMsg | undefined {
    const weights = this.deps.opts.priorityWeights;
    if (!weights) {
      for (const p of PRIORITIES) {
        const m = this.#buffers.get(p)?.shift();
        if (m) {
          this.#picked = p;
          this.#spaceWaiters.get(p)?.();
          this.#spaceWaiters.delete(p);
          return m;
        }
      }
      return undefined;
    }
    // Smooth weighted round robin (nginx's) over priorities with jobs waiting.
    let best: Priority | undefined;
    let total = 0;
    for (const p of PRIORITIES) {
      if (!this.#buffers.get(p)?.length) continue;
      const w = weights[p] ?? 1;
      total += w;
      const c = (this.#credit.get(p) ?? 0) + w;
      this.#credit.set(p, c);
      if (best === undefined || c > (this.#credit.get(best) ?? 0)) best = p;
    }
    if (best === undefined) return undefined;
    this.#credit.set(best, (this.#credit.get(best) ?? 0) - total);
    this.#picked = best;
    const m = this.#buffers.get(best)?.shift();
    this.#spaceWaiters.get(best)?.();
    this.#spaceWaiters.delete(best);
    return m;
  }

  /** Start buffered jobs while slots and rate allow. */
  pump(): void {
    while (
      this.#holds.size === 0 &&
      this.#running < this.concurrency &&
      this.#finishing < this.concurrency &&
      this.slots.free() > 0 &&
      this.buffered > 0
    ) {
      if (this.limiter) {
        const wait = this.limiter.take();
        if (wait > 0) {
          if (!this.#pumpTimer) {
            this.#pumpTimer = setTimeout(() => {
              this.#pumpTimer = undefined;
              this.pump();
            }, wait);
          }
          // One deferral per job held back, however many times the pump finds it still waiting.
          const next = this.peek();
          if (next && !this.#rateDeferred.has(next)) {
            this.#rateDeferred.add(next);
            this.#countDeferred('rate-limit', 1);
          }
          return;
        }
      }
      const m = this.pick();
      if (!m) return;
      const priority = this.#picked;
      const takenAt = Date.now();
      const { metrics } = this.deps;
      // First deliveries only: a redelivery's store time predates its earlier attempts.
      if (!m.info.redelivered) {
        metrics.queueTime.observe(
          { type: this.type, priority },
          Math.max(0, takenAt - queuedSince(m)) / 1000,
        );
      }
      this.#running++;
      this.slots.take();
      this.#active.add(m);
      this.#ensureTicker();
      let settled = false;
      // The slot is free once the handler settles; recording the outcome and
      // acking go on in the background, at most `concurrency` of them at once.
      // The runner calls it (with no argument) only when the handler ran, not
      // for a job it deferred, skipped or dead-lettered before starting it;
      // `finished` calls it with false, for those.
      const onSettled = (handlerRan = true): void => {
        if (settled) return;
        settled = true;
        if (handlerRan)
          metrics.runTime.observe({ type: this.type, priority }, (Date.now() - takenAt) / 1000);
        this.#active.delete(m);
        this.#running--;
        this.#finishing++;
        this.slots.release();
      };
      const finished = (): void => {
        onSettled(false);
        this.#finishing--;
        this.#inFlight.delete(done);
        if (this.#finishing === this.concurrency - 1) this.pump();
      };
      // `then(f, f)`, not `finally(f)`: runJob never rejects, and finally
      // makes two more closures per running job.
      const done = runJob(this.deps, this.spec, m, onSettled).then(finished, finished);
      this.#inFlight.add(done);
    }
  }

  /** Resolves when the running jobs have settled. */
  async drained(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  close(): void {
    clearTimeout(this.#pumpTimer);
    for (const t of this.#restarts) clearTimeout(t);
    this.#restarts.clear();
    clearInterval(this.#ticker);
    this.#ticker = undefined;
  }
}

/**
 * When a job message started waiting: its store time, or its run-at when that
 * is earlier (a delayed job the scheduler released late waited from then).
 */
function queuedSince(m: JsMsg): number {
  const stored = Math.floor(Number(m.info.timestampNanos) / 1e6);
  const runAt = Number(m.headers?.get(Hdr.RunAt) || NaN);
  return runAt > 0 && runAt < stored ? runAt : stored;
}
