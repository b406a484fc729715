/**
 * `JobMonitor`: the seed's monitor. It keeps a cluster view (queue counts from
 * the streams, node health from the nodes bucket, leaders, paused types)
 * fresh on a timer, follows live job events, exports it all to Prometheus,
 * and, on the monitor leader, evaluates the alert rules and sends webhooks.
 *
 * Lifecycle: created -> running -> stopping -> stopped; an illegal transition
 * throws, and each one is logged.
 *
 * @example
 * ```ts
 * const monitor = await JobMonitor.create({ servers: 'nats://127.0.0.1:4222' });
 * monitor.configureAlerts({
 *   failedJobThreshold: 10,
 *   workerDownThreshold: 60_000,
 *   queueSizeThreshold: 10_000,
 *   notificationEndpoint: 'https://hooks.example.com/rfw',
 * });
 * await monitor.startMonitoring();
 * console.log(await monitor.getMetrics()); // { activeJobs, completedJobs, failedJobs, queueSize, workerCount, byType }
 * await monitor.stop();
 * ```
 */
import type { KV } from '@nats-io/kv';
import {
  ConfigError,
  connectNats,
  createLogger,
  JobQueue,
  type CoreContext,
  type Logger,
  type Priority,
} from '@rfw/core/internal';
import { IllegalStateError } from '@rfw/core';
import { openNodesBucket } from '@rfw/worker/internal';
import { AlertManager, type AlertRecord } from './alerts.js';
import { ClusterMetrics } from './cluster-metrics.js';
import {
  openExistingBucket,
  readClusterView,
  type ClusterSnapshot,
  type MonitorMetrics,
} from './cluster-view.js';
import { EventTracker } from './event-tracker.js';
import { RunTimes } from './run-times.js';
import {
  compileAlertOptions,
  compileMonitorOptions,
  type AlertOptions,
  type CompiledMonitorOptions,
  type JobMonitorOptions,
  type LeaderElector,
} from './monitor-options.js';

export type MonitorState = 'created' | 'running' | 'stopping' | 'stopped';

const TRANSITIONS: Record<MonitorState, MonitorState[]> = {
  created: ['running', 'stopping'],
  running: ['stopping'],
  stopping: ['stopped'],
  stopped: [],
};

export class JobMonitor implements AsyncDisposable {
  readonly opts: CompiledMonitorOptions;
  readonly log: Logger;
  readonly tracker: EventTracker;
  readonly alerts: AlertManager;
  readonly metrics: ClusterMetrics;
  /** Recent attempt run times per type and priority, from job events (for percentiles). */
  readonly runTimes = new RunTimes();
  readonly elector?: LeaderElector;
  #state: MonitorState = 'created';
  #snapshot?: ClusterSnapshot;
  #refreshing?: Promise<ClusterSnapshot>;
  #leaderKv?: KV;
  #timers: NodeJS.Timeout[] = [];
  #closing?: Promise<void>;
  #lastError?: string;
  readonly #snapshotListeners = new Set<(s: ClusterSnapshot) => void>();
  #unsubscribeEvents?: () => void;

  private constructor(
    /** The admin client used for every read and action. */
    readonly queue: JobQueue,
    private readonly nodesKv: KV,
    options: JobMonitorOptions,
    private readonly ownsConnection: boolean,
  ) {
    this.opts = compileMonitorOptions(options);
    this.log = (options.logger ?? createLogger('monitor')).child({ nodeId: this.opts.nodeId });
    this.elector = options.elector;
    const alerts = compileAlertOptions(options.alerts);
    this.tracker = new EventTracker(queue.ctx, {
      historyMs: this.opts.historyMs,
      spanMs: Math.max(this.opts.rateWindowMs, alerts.failedJobWindowMs),
      log: this.log,
    });
    this.metrics = new ClusterMetrics(
      {
        snapshot: () => this.#snapshot,
        tracker: this.tracker,
        alerts: () => this.alerts.lastKnown,
        isLeader: () => this.isLeader,
        rateWindowMs: this.opts.rateWindowMs,
      },
      this.opts.nodeId,
    );
    this.alerts = new AlertManager(alerts, {
      control: queue.ctx.control,
      jsm: queue.ctx.jsm,
      controlBucket: queue.ctx.names.controlBucket,
      prefix: this.opts.prefix,
      nodeId: this.opts.nodeId,
      elector: options.elector,
      delivery: this.opts.delivery,
      log: this.log.child({ component: 'alerts' }),
      onDelivery: (status, outcome) => this.metrics.notifications.inc({ status, outcome }),
    });
  }

  /** Connect (or adopt `connection`), provision, and return a monitor in state `created`. */
  static async create(options: JobMonitorOptions = {}): Promise<JobMonitor> {
    compileMonitorOptions(options);
    const nc =
      options.connection ??
      (await connectNats({ name: `rfw-monitor-${options.nodeId ?? process.pid}`, ...options }));
    try {
      const queue = await JobQueue.connect({
        connection: nc,
        prefix: options.prefix,
        provision: options.provision,
      });
      const nodes = await openNodesBucket(queue.ctx, options.provision?.replicas ?? 1);
      return new JobMonitor(queue, nodes, options, !options.connection);
    } catch (err) {
      if (!options.connection) await nc.close();
      throw err;
    }
  }

  get state(): MonitorState {
    return this.#state;
  }
  get ctx(): CoreContext {
    return this.queue.ctx;
  }
  get nodeId(): string {
    return this.opts.nodeId;
  }
  /** True while this monitor evaluates and sends alerts (always, without an elector). */
  get isLeader(): boolean {
    return this.alerts.isLeader;
  }
  /** The node id of the monitor leader, when known. */
  get leader(): string | undefined {
    return this.elector ? this.elector.leader : this.opts.nodeId;
  }

  #transition(to: MonitorState): void {
    if (!TRANSITIONS[this.#state].includes(to))
      throw new IllegalStateError('JobMonitor', `transition to ${to}`, this.#state);
    this.log.info({ from: this.#state, to }, 'monitor state');
    this.#state = to;
  }

  /**
   * Set the alert rules (see `AlertOptions`; a rule left unset is off). Takes
   * effect at the next evaluation. Throws `ConfigError` naming a bad field.
   */
  configureAlerts(alerts: AlertOptions): void {
    const compiled = compileAlertOptions(alerts);
    if (compiled.failedJobWindowMs > this.tracker.counts.spanMs)
      throw new ConfigError(
        'failedJobWindowMs',
        `${compiled.failedJobWindowMs} ms is longer than the ${this.tracker.counts.spanMs} ms of events kept; pass the alerts to JobMonitor.create() instead`,
      );
    this.alerts.configure(compiled);
  }

  /**
   * Start following events, refreshing the cluster view and (on the leader)
   * evaluating alerts. Resolves after the first refresh.
   */
  async startMonitoring(): Promise<void> {
    this.#transition('running');
    this.#unsubscribeEvents = this.tracker.subscribe(({ event, replayed }) => {
      this.metrics.jobEvents.inc({
        type: event.type,
        priority: String(event.priority),
        state: event.state,
      });
      if (event.durationMs !== undefined && event.durationMs >= 0) {
        this.runTimes.record(event.type, String(event.priority), event.at, event.durationMs);
        if (!replayed)
          this.metrics.duration.observe(
            { type: event.type, outcome: event.state },
            event.durationMs / 1000,
          );
      }
    });
    await this.tracker.start();
    this.#leaderKv = await openExistingBucket(this.ctx, this.ctx.names.leaderBucket);
    await this.refresh();
    this.alerts.start();
    this.#timers.push(
      setInterval(() => void this.refresh().catch(() => undefined), this.opts.refreshIntervalMs),
      setInterval(() => void this.#evaluate(), this.opts.evaluationIntervalMs),
    );
    void this.tracker.caughtUp.then(() => this.#evaluate());
    this.log.info(
      { historyMs: this.opts.historyMs, alerts: this.alerts.config },
      'monitoring started',
    );
  }

  async #evaluate(): Promise<void> {
    if (this.#state !== 'running' || !this.isLeader || !this.tracker.isCaughtUp) return;
    try {
      // Judge on a fresh view so a node or queue is never alerted on stale data.
      const snapshot = await this.refresh();
      await this.alerts.evaluate({ snapshot, counts: this.tracker.counts });
    } catch (err) {
      this.log.warn({ err }, 'alert evaluation failed');
    }
  }

  /** The latest cluster view, refreshed every `refreshIntervalMs`. */
  snapshot(): ClusterSnapshot | undefined {
    return this.#snapshot;
  }

  /**
   * Read the cluster view now. Concurrent calls share one read; with
   * `afterChange`, a read already under way is not enough (it may predate a
   * change just made), so a new one follows it.
   */
  async refresh(afterChange = false): Promise<ClusterSnapshot> {
    if (afterChange && this.#refreshing) await this.#refreshing.catch(() => undefined);
    this.#refreshing ??= (async () => {
      try {
        this.#leaderKv ??= await openExistingBucket(this.ctx, this.ctx.names.leaderBucket);
        const [snap] = await withTimeout(
          Promise.all([
            readClusterView(
              this.queue,
              this.nodesKv,
              this.#leaderKv,
              this.alerts.config.workerDownThresholdMs,
            ),
            // Followers show the alerts the leader keeps in the control bucket.
            this.alerts.list(),
          ]),
          Math.max(10_000, 5 * this.opts.refreshIntervalMs),
          'cluster view refresh',
        );
        this.#snapshot = snap;
        this.#lastError = undefined;
        for (const l of this.#snapshotListeners) {
          try {
            l(snap);
          } catch (err) {
            this.log.warn({ err }, 'snapshot listener failed');
          }
        }
        return snap;
      } catch (err) {
        this.metrics.refreshErrors.inc();
        this.#lastError = (err as Error).message;
        this.log.warn({ err }, 'cluster view refresh failed');
        throw err;
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  /** Call `cb` with every new cluster view. */
  onSnapshot(cb: (s: ClusterSnapshot) => void): () => void {
    this.#snapshotListeners.add(cb);
    return () => this.#snapshotListeners.delete(cb);
  }

  /**
   * The seed's metrics, read fresh: `{ activeJobs, completedJobs, failedJobs,
   * queueSize, workerCount }` for the cluster, the same per type in `byType`,
   * plus `pending`, `delayed`, `failedAttempts`, `cancelled` and `dlq`. Each
   * figure is the same-named `JobQueue.statistics()` count (see `JobMetrics`).
   */
  async getMetrics(): Promise<MonitorMetrics> {
    return (await this.refresh()).metrics;
  }

  /** Alert records (firing first), read from the control bucket. */
  listAlerts(): Promise<AlertRecord[]> {
    return this.alerts.list();
  }

  /** Rates per second over the rate window, per type and priority. */
  rates(): Array<{
    type: string;
    priority: Priority;
    throughput: number;
    failures: number;
    started: number;
  }> {
    const w = this.opts.rateWindowMs;
    const out: ReturnType<JobMonitor['rates']> = [];
    for (const [type, byPrio] of this.tracker.counts.byQueue(w)) {
      for (const [priority, c] of byPrio) {
        out.push({
          type,
          priority: priority as Priority,
          throughput: (c.succeeded ?? 0) / (w / 1000),
          failures: ((c.retrying ?? 0) + (c.dead ?? 0)) / (w / 1000),
          started: (c.running ?? 0) / (w / 1000),
        });
      }
    }
    return out;
  }

  /** Readiness for `/readyz`. */
  ready(): true | string {
    if (this.#state !== 'running') return `state ${this.#state}`;
    if (this.ctx.nc.isClosed()) return 'NATS connection closed';
    if (!this.#snapshot) return 'no cluster view yet';
    if (this.#lastError && Date.now() - this.#snapshot.at > 5 * this.opts.refreshIntervalMs)
      return `cluster view is stale: ${this.#lastError}`;
    return true;
  }

  /** Stop timers, the event consumer and alert delivery. Safe to call twice. */
  stop(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#state === 'stopped') return;
      this.#transition('stopping');
      for (const t of this.#timers) clearInterval(t);
      const steps: Array<() => unknown> = [
        () => this.#unsubscribeEvents?.(),
        () => this.alerts.stop(),
        () => this.tracker.stop(),
        () => this.#refreshing?.catch(() => undefined),
        () => this.queue.close(),
        async () => {
          if (this.ownsConnection && !this.ctx.nc.isClosed()) await this.ctx.nc.drain();
        },
      ];
      for (const step of steps) {
        try {
          await step();
        } catch (err) {
          this.log.warn({ err }, 'monitor cleanup step failed');
        }
      }
      this.#snapshotListeners.clear();
      this.#transition('stopped');
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Reject when `p` takes longer than `ms`, so one stuck read never wedges the refresh loop. */
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
