/**
 * `WorkerManager`: runs the registered workers of one instance. It shares each
 * type's durable consumers with every other instance, dispatches by priority
 * into at most `maxConcurrentJobs` slots, records every transition, writes
 * this instance's heartbeat, obeys cluster-wide pause switches and cancel
 * requests, and drains on `shutdown()`.
 *
 * Lifecycle: created -> running -> draining -> stopped (or failed); an
 * illegal transition throws, and each one is logged.
 */
import type { KV } from '@nats-io/kv';
import type { Subscription } from '@nats-io/nats-core';
import {
  connectNats,
  createLogger,
  bucketKeys,
  decodeJson,
  encodeJson,
  openContext,
  pausedKey,
  ConfigError,
  validateType,
  type CoreContext,
  type Logger,
} from '@rfw/core/internal';
import { IllegalStateError } from '@rfw/core';
import { AbortReason } from './abort-reasons.js';
import { Breakers } from './breakers.js';
import { TypeDispatcher, type SlotPool } from './dispatcher.js';
import type { ActiveJob, RunnerDeps } from './job-runner.js';
import { WriteLimiter } from './write-limiter.js';
import { WorkerMetrics } from './metrics.js';
import { sweepUnroutable } from './unroutable.js';
import { RecentCancels } from './recent-cancels.js';
import { FreshMessages } from './fresh-messages.js';
import { liveNodes, makeHeartbeat, openNodesBucket, writeHeartbeat } from './presence.js';
import { TokenBucket } from './rate-limiter.js';
import type { Worker } from './worker.js';
import {
  compileWorkerOptions,
  type CompiledWorkerOptions,
  type WorkerManagerOptions,
} from './worker-options.js';

/**
 * States of a `WorkerManager`: created -> running -> draining -> stopped, or
 * failed.
 */
export type ManagerState = 'created' | 'running' | 'draining' | 'stopped' | 'failed';

const TRANSITIONS: Record<ManagerState, ManagerState[]> = {
  created: ['running', 'stopped', 'failed'],
  running: ['draining', 'failed'],
  draining: ['stopped', 'failed'],
  stopped: [],
  failed: ['stopped'],
};

/** What a `WorkerManager` is doing now (for health endpoints and tests). */
export interface ManagerSnapshot {
  /** This instance's id. */
  workerId: string;
  /** The manager's lifecycle state. */
  state: ManagerState;
  /** Jobs running now, over all types. */
  inFlight: number;
  /** `maxConcurrentJobs`: jobs this instance runs at once at most. */
  capacity: number;
  /**
   * Per registered type: jobs running, messages fetched and waiting for a
   * slot, and why it is not pulling (`paused`, `unhealthy`; empty while it pulls).
   */
  types: Array<{ type: string; running: number; buffered: number; held: string[] }>;
}

/**
 * Runs registered worker types in this process: pulls their jobs by priority,
 * runs them with timeouts, retries and breakers, records every transition, and
 * drains on `shutdown()`. Create with `WorkerManager.create()`, `register()`
 * the types, then `start()`.
 */
export class WorkerManager implements AsyncDisposable {
  /** The options as compiled by `create()`: defaults applied, every value checked. */
  readonly opts: CompiledWorkerOptions;
  /** This instance's Prometheus metrics (`metrics.registry` is what `/metrics` serves). */
  readonly metrics: WorkerMetrics;
  /** The manager's logger: a child of `options.logger` (else of a new `worker` logger) carrying `workerId`. */
  readonly log: Logger;
  #state: ManagerState = 'created';
  readonly #workers = new Map<string, Worker>();
  readonly #dispatchers = new Map<string, TypeDispatcher>();
  readonly #running = new Map<string, ActiveJob>();
  readonly #timers: NodeJS.Timeout[] = [];
  #inUse = 0;
  #nodes?: KV;
  readonly #cancelSubs: Subscription[] = [];
  #pauseWatch?: { stop(): void };
  #closing?: Promise<void>;
  #startedAt = Date.now();
  #roles: string[] = [];
  #closed: Promise<void | Error>;
  #resolveClosed!: (v: void | Error) => void;

  private constructor(
    /** The connection, JetStream clients, names and record store the manager uses. */
    readonly core: CoreContext,
    options: WorkerManagerOptions,
    private readonly ownsConnection: boolean,
  ) {
    this.opts = compileWorkerOptions(options);
    this.replicas = options.provision?.replicas ?? 1;
    this.log = (options.logger ?? createLogger('worker')).child({ workerId: this.opts.workerId });
    this.metrics = new WorkerMetrics({ worker_id: this.opts.workerId });
    this.#closed = new Promise((r) => (this.#resolveClosed = r));
  }

  /** Connect (or adopt `connection`), provision, and return a manager in state `created`. */
  static async create(options: WorkerManagerOptions = {}): Promise<WorkerManager> {
    compileWorkerOptions(options);
    const nc =
      options.connection ??
      (await connectNats({ name: `rfw-worker-${options.workerId ?? process.pid}`, ...options }));
    try {
      const core = await openContext(nc, options.prefix, options.provision);
      return new WorkerManager(core, options, !options.connection);
    } catch (err) {
      if (!options.connection) await nc.close();
      throw err;
    }
  }

  /** The lifecycle state: created, running, draining, stopped or failed. */
  get state(): ManagerState {
    return this.#state;
  }
  /** This instance's id (`options.workerId`, else `<hostname>-<pid>`). */
  get workerId(): string {
    return this.opts.workerId;
  }

  /** Resolves when the manager stops (with the error if it failed). */
  closed(): Promise<void | Error> {
    return this.#closed;
  }

  private transition(to: ManagerState): void {
    if (!TRANSITIONS[this.#state].includes(to)) {
      throw new IllegalStateError('WorkerManager', `transition to ${to}`, this.#state);
    }
    this.log.info({ from: this.#state, to }, 'worker manager state');
    this.#state = to;
  }

  /** Register workers (before `start()`). One worker per type. */
  register(...workers: Worker[]): this {
    if (this.#state !== 'created')
      throw new IllegalStateError('WorkerManager', 'register()', this.#state);
    for (const w of workers) {
      validateType(w.workerType);
      if (this.#workers.has(w.workerType))
        throw new ConfigError('workerType', `${w.workerType} registered twice`);
      this.#workers.set(w.workerType, w);
    }
    return this;
  }

  /** Leader roles this node competes for, advertised in its heartbeat (set by WorkerCluster). */
  setRoles(roles: string[]): void {
    this.#roles = roles;
  }

  private readonly slots: SlotPool = {
    free: () => this.opts.maxConcurrentJobs - this.#inUse,
    take: () => {
      this.#inUse++;
    },
    release: () => {
      this.#inUse--;
      queueMicrotask(() => this.pumpAll());
    },
  };

  private pumpAll(): void {
    if (this.#state !== 'running') return;
    for (const d of this.#dispatchers.values()) d.pump();
  }

  /** Create consumers, start pulling, heartbeats, health checks and control watches. */
  async start(): Promise<void> {
    this.transition('running');
    try {
      const deps: RunnerDeps = {
        core: this.core,
        opts: this.opts,
        metrics: this.metrics,
        breakers: new Breakers(this.opts.breaker, this.metrics, (e) => {
          this.log.info({ breaker: e.key, type: e.type, state: e.state }, 'circuit breaker state');
          // Breaker changes are events too: <prefix>.events.<type>.all.breaker
          if (!this.core.nc.isClosed()) {
            this.core.nc.publish(
              `${this.core.names.prefix}.events.${e.type}.all.breaker`,
              encodeJson({
                type: e.type,
                key: e.key,
                state: e.state,
                workerId: this.opts.workerId,
                at: Date.now(),
              }),
            );
          }
        }),
        log: this.log,
        running: this.#running,
        runningWrites: new WriteLimiter(32),
        recentCancels: new RecentCancels(),
        fresh: new FreshMessages(this.core),
      };
      this.#breakers = deps.breakers;
      for (const w of this.#workers.values()) {
        const spec = {
          worker: w,
          backoff: { ...this.opts.backoff, ...w.backoff },
          maxRetries: w.maxRetries ?? this.opts.retryLimit,
          timeoutMs: w.timeoutMs ?? this.opts.jobTimeoutMs,
        };
        const limiter = w.rateLimitPerSecond ? new TokenBucket(w.rateLimitPerSecond) : undefined;
        const d = new TypeDispatcher(
          spec,
          deps,
          this.slots,
          w.concurrency ?? this.opts.maxConcurrentJobs,
          limiter,
        );
        await d.ensureConsumers();
        this.#dispatchers.set(w.workerType, d);
      }
      // Cancel requests for this instance's own types only (least privilege in deploy/nats).
      for (const type of this.#workers.keys()) {
        this.#cancelSubs.push(
          this.core.nc.subscribe(this.core.names.controlSubject('cancel', type), {
            callback: (_err, msg) => {
              try {
                const { id } = decodeJson<{ id: string }>(msg.data);
                if (typeof id !== 'string') return;
                deps.recentCancels.add(id);
                this.#running
                  .get(id)
                  ?.controller.abort(new AbortReason('cancelled', 'job was cancelled'));
              } catch {
                // malformed control message: ignore
              }
            },
          }),
        );
      }
      this.#watchConnection(deps.fresh);
      await this.watchPauses();
      this.#nodes = await openNodesBucket(this.core, this.replicas);
      await this.heartbeat();
      await this.checkHealth();
      for (const d of this.#dispatchers.values()) await d.startPulling();
      const sweep = (): void =>
        void sweepUnroutable(deps).catch((err: unknown) =>
          this.log.warn({ err }, 'sweep of invalid job subjects failed'),
        );
      sweep();
      this.#timers.push(
        setInterval(sweep, Math.min(this.opts.cleanupIntervalMs, 5000)),
        setInterval(() => void this.heartbeat(), this.opts.heartbeatIntervalMs),
        setInterval(() => void this.checkHealth(), this.opts.healthCheckIntervalMs),
        setInterval(
          () => this.#breakers?.prune(this.opts.cleanupIntervalMs),
          this.opts.cleanupIntervalMs,
        ),
      );
      this.log.info(
        { types: [...this.#workers.keys()], maxConcurrentJobs: this.opts.maxConcurrentJobs },
        'worker manager started',
      );
    } catch (err) {
      this.transition('failed');
      await this.cleanup();
      this.#resolveClosed(err as Error);
      throw err;
    }
  }

  #breakers?: Breakers;
  private readonly replicas: number;

  /** A server that restarted may have lost consumer state: re-attach after every reconnect. */
  #watchConnection(fresh: FreshMessages): void {
    void (async () => {
      for await (const s of this.core.nc.status()) {
        if (s.type === 'disconnect') fresh.detach();
        else if (s.type === 'reconnect') {
          // JetStream may answer a moment after the socket: retry until it does.
          for (let delay = 250; !this.core.nc.isClosed(); delay = Math.min(delay * 2, 5000)) {
            try {
              await fresh.attach();
              break;
            } catch {
              await new Promise((r) => setTimeout(r, delay));
            }
          }
        }
      }
    })();
  }

  private async watchPauses(): Promise<void> {
    const initial = new Set<string>();
    for (const k of await bucketKeys(this.core.control, 'paused.>')) initial.add(k);
    for (const type of this.#workers.keys()) {
      if (initial.has(pausedKey(type))) {
        const e = await this.core.control.get(pausedKey(type));
        if (e?.operation === 'PUT') await this.#dispatchers.get(type)?.hold('paused');
      }
    }
    const watch = await this.core.control.watch({ key: 'paused.>', include: 'updates' as never });
    this.#pauseWatch = watch;
    void (async () => {
      for await (const e of watch) {
        const type = e.key.slice('paused.'.length);
        const d = this.#dispatchers.get(type);
        if (!d || this.#state !== 'running') continue;
        if (e.operation === 'PUT') {
          this.log.info({ type }, 'type paused');
          await d.hold('paused');
        } else {
          this.log.info({ type }, 'type resumed');
          await d.release('paused');
        }
      }
    })();
  }

  private async checkHealth(): Promise<void> {
    for (const [type, w] of this.#workers) {
      if (!w.healthCheck) continue;
      const d = this.#dispatchers.get(type);
      if (!d) continue;
      let ok: boolean;
      try {
        ok = await w.healthCheck();
      } catch {
        ok = false;
      }
      if (this.#state !== 'running') return;
      if (!ok && !d.holds.has('unhealthy')) {
        this.log.warn({ type }, 'health check failed: not pulling');
        await d.hold('unhealthy');
      } else if (ok && d.holds.has('unhealthy')) {
        this.log.info({ type }, 'health check passed: pulling again');
        await d.release('unhealthy');
      }
    }
  }

  private async heartbeat(): Promise<void> {
    if (!this.#nodes || this.#state !== 'running') return;
    try {
      const held: Record<string, string[]> = {};
      for (const [t, d] of this.#dispatchers) if (d.holds.size) held[t] = [...d.holds];
      await writeHeartbeat(
        this.#nodes,
        makeHeartbeat({
          nodeId: this.opts.workerId,
          types: [...this.#workers.keys()],
          roles: this.#roles,
          capacity: this.opts.maxConcurrentJobs,
          inFlight: this.#running.size,
          running: [...this.#running.values()]
            .slice(0, 100)
            .map((a) => ({ id: a.id, type: a.type, startedAt: a.startedAt })),
          held,
          startedAt: this.#startedAt,
          heartbeatIntervalMs: this.opts.heartbeatIntervalMs,
        }),
      );
      // Each instance takes its share of a type's cluster-wide rate limit.
      const limited = [...this.#dispatchers.values()].filter((d) => d.limiter);
      if (limited.length) {
        const nodes = await liveNodes(this.#nodes);
        for (const d of limited) {
          const peers = Math.max(1, nodes.filter((n) => n.types.includes(d.type)).length);
          d.limiter?.setRate((d.spec.worker.rateLimitPerSecond ?? 1) / peers);
        }
      }
    } catch (err) {
      this.log.warn({ err }, 'heartbeat failed');
    }
  }

  /**
   * What the manager is doing now: its state, jobs in flight and each type's
   * dispatch (a worker service serves it as `info` in `/healthz`).
   */
  snapshot(): ManagerSnapshot {
    return {
      workerId: this.opts.workerId,
      state: this.#state,
      inFlight: this.#running.size,
      capacity: this.opts.maxConcurrentJobs,
      types: [...this.#dispatchers.values()].map((d) => ({
        type: d.type,
        running: d.running,
        buffered: d.buffered,
        held: [...d.holds],
      })),
    };
  }

  /** Readiness for `/readyz`. */
  ready(): true | string {
    if (this.#state !== 'running') return `state ${this.#state}`;
    if (this.core.nc.isClosed()) return 'NATS connection closed';
    const all = [...this.#dispatchers.values()];
    if (all.length && all.every((d) => d.holds.has('unhealthy')))
      return 'every worker type is unhealthy';
    return true;
  }

  /**
   * Drain: stop pulling (buffered jobs go back to the broker), let running jobs
   * finish within `shutdownGraceMs`, then abort the rest and hand them back for
   * redelivery. Safe to call twice.
   */
  shutdown(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#state === 'created') {
        this.transition('stopped');
      } else if (this.#state === 'running') {
        this.transition('draining');
        for (const d of this.#dispatchers.values()) {
          try {
            await d.stopPulling();
          } catch (err) {
            this.log.warn({ err, type: d.type }, 'stop pulling failed');
          }
        }
        const all = Promise.all([...this.#dispatchers.values()].map((d) => d.drained()));
        let graceTimer: NodeJS.Timeout | undefined;
        const grace = new Promise<'grace'>(
          (r) => (graceTimer = setTimeout(() => r('grace'), this.opts.shutdownGraceMs)),
        );
        if ((await Promise.race([all.then(() => 'done' as const), grace])) === 'grace') {
          this.log.warn(
            { running: this.#running.size },
            'shutdown grace over: aborting running jobs',
          );
          for (const a of this.#running.values())
            a.controller.abort(new AbortReason('shutdown', 'worker shutting down'));
          await all;
        }
        clearTimeout(graceTimer);
        await this.cleanup();
        this.transition('stopped');
      } else if (this.#state === 'failed') {
        this.transition('stopped');
      }
      this.#resolveClosed();
    })();
    return this.#closing;
  }

  private async cleanup(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    for (const d of this.#dispatchers.values()) d.close();
    const steps: Array<() => unknown> = [
      () => this.#pauseWatch?.stop(),
      () => this.#cancelSubs.forEach((sub) => sub.unsubscribe()),
      () => this.#breakers?.shutdown(),
      async () => {
        if (this.#nodes && !this.core.nc.isClosed()) await this.#nodes.delete(this.opts.workerId);
      },
      async () => {
        if (this.ownsConnection && !this.core.nc.isClosed()) await this.core.nc.drain();
      },
    ];
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        this.log.warn({ err }, 'cleanup step failed');
      }
    }
  }

  /** Same as `shutdown()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }
}
