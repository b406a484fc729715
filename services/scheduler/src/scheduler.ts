/**
 * `Scheduler`: one scheduler instance. Every instance heartbeats, competes for
 * the `scheduler` role and answers the submission API; the leader alone
 * releases delayed jobs and fires periodic ones, and stops both the moment it
 * loses the lease.
 *
 * Lifecycle: created -> running -> stopping -> stopped.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import { hostname } from 'node:os';
import {
  JobQueue,
  connectNats,
  createLogger,
  openContext,
  type CoreContext,
  type Logger,
  type ProvisionOptions,
} from '@rfw/core/internal';
import { IllegalStateError } from '@rfw/core';
import { Heartbeat, LeaderElection } from '@rfw/cluster/internal';
import type { Schedule } from './config.js';
import { CronRunner, type ScheduleStatus } from './cron-runner.js';
import { ScheduleWatch } from './schedule-watch.js';
import { DelayedReleaser } from './delayed-releaser.js';
import { SchedulerMetrics } from './metrics.js';
import { SubmitApi } from './submit-api.js';

/** The leader role of schedulers in the leader bucket. */
export const SCHEDULER_ROLE = 'scheduler';

export interface SchedulerOptions {
  /** NATS servers. @default `NATS_URL` or nats://127.0.0.1:4222 */
  servers?: string | string[];
  /** Use this connection; `stop()` then leaves it open. */
  connection?: NatsConnection;
  /** @default 'rfw' */
  prefix?: string;
  provision?: ProvisionOptions;
  /** @default `scheduler-<hostname>-<pid>` */
  nodeId?: string;
  /** Leader lease, ms. @default 10000 */
  leaderElectionTimeoutMs?: number;
  /** @default 5000 */
  heartbeatIntervalMs?: number;
  schedules?: Schedule[];
  /** Delayed releases in flight at once. @default 64 */
  releaseConcurrency?: number;
  /**
   * Bytes of delayed jobs held in memory with their message (body plus about
   * 1 KB each); jobs beyond it are read back when due. @default 16 MiB
   */
  delayedMemoryBytes?: number;
  logger?: Logger;
}

export type SchedulerState = 'created' | 'running' | 'stopping' | 'stopped';

export interface SchedulerStatus {
  nodeId: string;
  state: SchedulerState;
  isLeader: boolean;
  leader?: string;
  fencingToken?: number;
  delayedPending: number;
  delayedLoaded: boolean;
  natsServer: string;
  schedules: ScheduleStatus[];
}

export class Scheduler implements AsyncDisposable {
  readonly nodeId: string;
  readonly metrics: SchedulerMetrics;
  readonly log: Logger;
  readonly queue: JobQueue;
  #state: SchedulerState = 'created';
  #stopping?: Promise<void>;
  #heartbeat?: Heartbeat;
  #election?: LeaderElection;
  #offChange?: () => void;
  #leading = false;
  readonly #releaser: DelayedReleaser;
  readonly #cron: CronRunner;
  readonly #watch: ScheduleWatch;
  readonly #api: SubmitApi;

  private constructor(
    readonly ctx: CoreContext,
    private readonly opts: SchedulerOptions,
    private readonly ownsConnection: boolean,
    nodeId: string,
    queue: JobQueue,
  ) {
    this.nodeId = nodeId;
    this.queue = queue;
    this.log = (opts.logger ?? createLogger('scheduler')).child({ nodeId });
    this.metrics = new SchedulerMetrics({ node_id: nodeId });
    const isLeader = (): boolean => this.#election?.isLeader ?? false;
    this.#releaser = new DelayedReleaser({
      ctx,
      isLeader,
      metrics: this.metrics,
      log: this.log,
      concurrency: opts.releaseConcurrency,
      memoryBudgetBytes: opts.delayedMemoryBytes,
    });
    this.#cron = new CronRunner({
      ctx,
      queue,
      schedules: opts.schedules ?? [],
      nodeId,
      isLeader,
      token: () => this.#election?.fencingToken,
      metrics: this.metrics,
      log: this.log,
    });
    this.#watch = new ScheduleWatch(ctx, (stored) => this.#cron.setStored(stored), this.log);
    this.#api = new SubmitApi(
      ctx.nc,
      ctx.names.apiSubject('submit'),
      `${ctx.names.prefix}_scheduler`,
      queue,
      this.metrics,
      this.log,
    );
  }

  /** Connect (or adopt `connection`) and provision; the instance is `created`. */
  static async create(opts: SchedulerOptions = {}): Promise<Scheduler> {
    const nodeId =
      opts.nodeId ?? `scheduler-${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9_-]/g, '-');
    const nc = opts.connection ?? (await connectNats({ name: `rfw-${nodeId}`, ...opts }));
    try {
      const ctx = await openContext(nc, opts.prefix, opts.provision);
      const queue = await JobQueue.connect({
        connection: nc,
        prefix: opts.prefix,
        provision: opts.provision,
      });
      return new Scheduler(ctx, opts, !opts.connection, nodeId, queue);
    } catch (err) {
      if (!opts.connection) await nc.close();
      throw err;
    }
  }

  get state(): SchedulerState {
    return this.#state;
  }

  get isLeader(): boolean {
    return this.#election?.isLeader ?? false;
  }

  /** The leader election (for its fencing token and change callbacks). */
  get election(): LeaderElection | undefined {
    return this.#election;
  }

  /** Heartbeat, submission API, then compete for leadership. */
  async start(): Promise<void> {
    if (this.#state !== 'created') throw new IllegalStateError('Scheduler', 'start()', this.#state);
    this.#state = 'running';
    const replicas = this.opts.provision?.replicas ?? 1;
    const prefix = this.ctx.names.prefix;
    this.#heartbeat = await Heartbeat.start({
      connection: this.ctx.nc,
      prefix,
      nodeId: this.nodeId,
      intervalMs: this.opts.heartbeatIntervalMs,
      roles: [SCHEDULER_ROLE],
      replicas,
      logger: this.log,
    });
    this.#api.start();
    // The stored schedules (JobQueue.schedules), read once before competing to lead.
    await this.#watch.start();
    const election = await LeaderElection.create({
      connection: this.ctx.nc,
      prefix,
      role: SCHEDULER_ROLE,
      nodeId: this.nodeId,
      leaseMs: this.opts.leaderElectionTimeoutMs,
      replicas,
      logger: this.log,
    });
    this.#election = election;
    this.#offChange = election.onChange((e) => {
      this.metrics.isLeader.set(e.isLeader ? 1 : 0);
      if (e.isLeader) this.#lead();
      else this.#follow();
    });
    await election.start();
    this.log.info(
      { schedules: (this.opts.schedules ?? []).map((s) => s.name) },
      'scheduler started',
    );
  }

  #lead(): void {
    if (this.#state !== 'running' || this.#leading) return;
    this.#leading = true;
    this.log.info(
      { token: this.#election?.fencingToken },
      'leading: releasing delayed jobs and firing schedules',
    );
    this.#startReleaser();
    this.#cron.start();
  }

  #startReleaser(): void {
    this.#releaser.start().catch((err: Error) => {
      this.log.error({ err: err.message }, 'could not read the delayed stream; retrying');
      this.#releaser.stop();
      setTimeout(() => {
        if (this.#leading && this.isLeader) this.#startReleaser();
      }, 1000).unref();
    });
  }

  #follow(): void {
    if (!this.#leading) return;
    this.#leading = false;
    this.#releaser.stop();
    this.#cron.stop();
    this.log.info({ leader: this.#election?.leader }, 'following: leader duties stopped');
  }

  status(): SchedulerStatus {
    return {
      nodeId: this.nodeId,
      state: this.#state,
      isLeader: this.isLeader,
      leader: this.#election?.leader,
      fencingToken: this.#election?.fencingToken,
      delayedPending: this.#releaser.pending,
      delayedLoaded: this.#releaser.loaded,
      natsServer: this.ctx.nc.getServer(),
      schedules: this.#cron.status(),
    };
  }

  /** Readiness: running, connected, heartbeat written. */
  ready(): true | string {
    if (this.#state !== 'running') return `state ${this.#state}`;
    if (this.ctx.nc.isClosed()) return 'NATS connection closed';
    if (!this.#heartbeat?.healthy) return 'heartbeat not written';
    return true;
  }

  /** Resign leadership, stop leader duties, the API and the heartbeat. Safe twice. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      if (this.#state === 'created') {
        this.#state = 'stopped';
      } else {
        this.#state = 'stopping';
        this.#follow();
        const steps: Array<[string, () => Promise<void> | void]> = [
          ['election', () => this.#election?.stop()],
          ['off', () => this.#offChange?.()],
          ['schedules', () => this.#watch.stop()],
          ['api', () => this.#api.stop()],
          ['heartbeat', () => this.#heartbeat?.stop()],
        ];
        for (const [name, step] of steps) {
          try {
            await step();
          } catch (err) {
            this.log.warn({ err: (err as Error).message, step: name }, 'stop step failed');
          }
        }
        this.metrics.isLeader.set(0);
        this.#state = 'stopped';
      }
      if (this.ownsConnection && !this.ctx.nc.isClosed()) {
        await this.ctx.nc.drain().catch(() => this.ctx.nc.close());
      }
    })();
    return this.#stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
