/**
 * `WorkerCluster`: the seed's cluster node. It runs the registered worker
 * types in a `WorkerManager` (whose heartbeat makes it a member), follows
 * membership and leadership, competes for the leader roles it is given, and
 * reports `node-joined`, `node-left` and `leadership-changed` events.
 *
 * Lifecycle: created -> joined -> left (or failed); each transition is logged.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import {
  ConfigError,
  connectNats,
  createLogger,
  validateType,
  type Logger,
  type NodeHeartbeat,
  type ProvisionOptions,
} from '@rfw/core/internal';
import { IllegalStateError } from '@rfw/core';
import { WorkerManager, type Worker, type WorkerManagerOptions } from '@rfw/worker';
import { EventChannel } from './event-channel.js';
import { Heartbeat } from './heartbeat.js';
import { LeaderElection } from './leader-election.js';
import { LeaderWatch } from './leader-watch.js';
import { validateMs, validateNodeId, validateRole } from './lease.js';
import { Membership, type LeaveReason } from './membership.js';

/** Events of a cluster node, as a tagged union. */
export type ClusterEvent =
  | { type: 'node-joined'; node: NodeHeartbeat }
  | { type: 'node-left'; node: NodeHeartbeat; reason: LeaveReason }
  | {
      type: 'leadership-changed';
      role: string;
      /** The new leader's nodeId; `undefined` while the role has none. */
      leader: string | undefined;
      previous: string | undefined;
    };

/** Builds a role's worker; called once by `join()`. */
export type WorkerFactory = () => Worker | Promise<Worker>;

/** Options of `WorkerCluster.create()`. */
export interface WorkerClusterOptions {
  /** This node's id, unique in the cluster (letters, digits, `-`, `_`); also the WorkerManager's workerId. */
  nodeId: string;
  /** NATS servers: the seed's cluster endpoint. @default `NATS_URL` or nats://127.0.0.1:4222 */
  servers?: string | string[];
  /** Use this connection; `leave()` then leaves it open. */
  connection?: NatsConnection;
  /** Heartbeat period, ms; a node silent for 3 periods has left. @default 5000 */
  heartbeatInterval?: number;
  /** Leader lease, ms: a new leader is elected within about this long after one dies. @default 10000 */
  leaderElectionTimeout?: number;
  /**
   * Leader roles this node competes for. The default is the seed's single
   * cluster leader, role `cluster`; pass `[]` to only observe.
   * @default ['cluster']
   */
  roles?: string[];
  /** @default 'rfw' */
  prefix?: string;
  /**
   * Stream and bucket settings of the WorkerManager (run when a worker type
   * is registered); `replicas` also sets the nodes and leader buckets'.
   */
  provision?: ProvisionOptions;
  /** Further WorkerManager options (concurrency, timeouts, retries...). */
  manager?: Omit<
    WorkerManagerOptions,
    'workerId' | 'connection' | 'servers' | 'prefix' | 'provision' | 'heartbeatIntervalMs'
  >;
  /** Logger the node's log is a child of (also the WorkerManager's, unless `manager.logger`). @default a new `cluster` logger */
  logger?: Logger;
}

/** The seed's cluster-wide leader role, competed for by default. */
export const DEFAULT_ROLE = 'cluster';

/**
 * States of a `WorkerCluster`: `join()` moves created -> joining -> joined,
 * `leave()` joined -> leaving -> left; a failed join ends in `failed`.
 */
export type ClusterState = 'created' | 'joining' | 'joined' | 'leaving' | 'left' | 'failed';

/**
 * The seed's cluster API: register worker types, `join()` to run them and
 * announce this node, `leave()` to drain and go; `events()` yields
 * `node-joined`, `node-left` and `leadership-changed`.
 */
export class WorkerCluster implements AsyncDisposable {
  /** This node's id (`options.nodeId`), also its WorkerManager's workerId. */
  readonly nodeId: string;
  /** Heartbeat period, ms (`options.heartbeatInterval`, default 5000). */
  readonly heartbeatIntervalMs: number;
  /** Leader lease, ms (`options.leaderElectionTimeout`, default 10000). */
  readonly leaderElectionTimeoutMs: number;
  /** The leader roles this node competes for (`options.roles`, default `['cluster']`). */
  readonly roles: readonly string[];
  readonly #log: Logger;
  readonly #factories = new Map<string, WorkerFactory>();
  readonly #events = new EventChannel<ClusterEvent>();
  readonly #elections = new Map<string, LeaderElection>();
  #state: ClusterState = 'created';
  #manager?: WorkerManager;
  #heartbeat?: Heartbeat;
  #membership?: Membership;
  #leaderWatch?: LeaderWatch;
  #leaving?: Promise<void>;

  private constructor(
    /** The NATS connection of this node: `options.connection`, else the one `create()` opened (which `leave()` drains). */
    readonly connection: NatsConnection,
    private readonly opts: WorkerClusterOptions,
    private readonly ownsConnection: boolean,
  ) {
    this.nodeId = opts.nodeId;
    this.heartbeatIntervalMs = validateMs('heartbeatInterval', opts.heartbeatInterval, 5000, 50);
    this.leaderElectionTimeoutMs = validateMs(
      'leaderElectionTimeout',
      opts.leaderElectionTimeout,
      10_000,
      200,
    );
    this.roles = (opts.roles ?? [DEFAULT_ROLE]).map(validateRole);
    this.#log = (opts.logger ?? createLogger('cluster')).child({ nodeId: opts.nodeId });
  }

  /** Validate the options and connect (or adopt `connection`). Throws `ConfigError` naming a bad field. */
  static async create(opts: WorkerClusterOptions): Promise<WorkerCluster> {
    validateNodeId(opts.nodeId);
    validateMs('heartbeatInterval', opts.heartbeatInterval, 5000, 50);
    validateMs('leaderElectionTimeout', opts.leaderElectionTimeout, 10_000, 200);
    (opts.roles ?? []).forEach(validateRole);
    const nc = opts.connection ?? (await connectNats({ name: `rfw-node-${opts.nodeId}`, ...opts }));
    return new WorkerCluster(nc, opts, !opts.connection);
  }

  /** The lifecycle state: created, joining, joined, leaving, left or failed. */
  get state(): ClusterState {
    return this.#state;
  }

  /** The WorkerManager running this node's workers, after `join()` (none when no type is registered). */
  get manager(): WorkerManager | undefined {
    return this.#manager;
  }

  #transition(to: ClusterState): void {
    this.#log.info({ from: this.#state, to }, 'cluster node state');
    this.#state = to;
  }

  /** Register a worker type (before `join()`); the factory's worker must have that `workerType`. */
  registerWorkerType(type: string, factory: WorkerFactory): this {
    if (this.#state !== 'created')
      throw new Error('registerWorkerType() must be called before join()');
    validateType(type);
    if (this.#factories.has(type)) throw new ConfigError('type', `${type} registered twice`);
    this.#factories.set(type, factory);
    return this;
  }

  /**
   * Start the workers and the heartbeat, follow membership and leadership, and
   * compete for this node's roles. Events emitted from now on reach `events()`
   * iterators opened before (existing members come as `node-joined`).
   */
  async join(): Promise<void> {
    if (this.#state !== 'created')
      throw new IllegalStateError('WorkerCluster', 'join()', this.#state);
    this.#transition('joining');
    const replicas = this.opts.provision?.replicas ?? 1;
    const prefix = this.opts.prefix;
    try {
      const workers: Worker[] = [];
      for (const [type, factory] of this.#factories) {
        const w = await factory();
        if (w.workerType !== type)
          throw new ConfigError(
            'workerType',
            `factory for ${type} returned a worker of type ${w.workerType}`,
          );
        workers.push(w);
      }
      this.#membership = await Membership.start(
        {
          connection: this.connection,
          prefix,
          replicas,
          checkIntervalMs: Math.max(25, Math.min(1000, Math.floor(this.heartbeatIntervalMs / 4))),
          logger: this.#log,
        },
        (e) => this.#events.emit(e),
      );
      this.#leaderWatch = await LeaderWatch.start(
        { connection: this.connection, prefix, replicas, logger: this.#log },
        (e) => this.#events.emit({ type: 'leadership-changed', ...e }),
      );
      if (workers.length) {
        const m = await WorkerManager.create({
          logger: this.#log,
          ...this.opts.manager,
          workerId: this.nodeId,
          connection: this.connection,
          prefix,
          provision: this.opts.provision,
          heartbeatIntervalMs: this.heartbeatIntervalMs,
        });
        m.register(...workers);
        m.setRoles([...this.roles]);
        await m.start();
        this.#manager = m;
      } else {
        this.#heartbeat = await Heartbeat.start({
          connection: this.connection,
          prefix,
          nodeId: this.nodeId,
          intervalMs: this.heartbeatIntervalMs,
          roles: [...this.roles],
          replicas,
          logger: this.#log,
        });
      }
      for (const role of this.roles) {
        const el = await LeaderElection.create({
          connection: this.connection,
          prefix,
          role,
          nodeId: this.nodeId,
          leaseMs: this.leaderElectionTimeoutMs,
          replicas,
          logger: this.#log,
        });
        this.#elections.set(role, el);
        await el.start();
      }
      this.#transition('joined');
    } catch (err) {
      this.#transition('failed');
      await this.#cleanup();
      throw err;
    }
  }

  /** Leave: resign leadership, drain the workers, delete the heartbeat, end the event streams. Safe twice. */
  leave(): Promise<void> {
    this.#leaving ??= (async () => {
      if (this.#state === 'joined') this.#transition('leaving');
      await this.#cleanup();
      this.#transition('left');
    })();
    return this.#leaving;
  }

  async #cleanup(): Promise<void> {
    const steps: Array<[string, () => Promise<void> | undefined]> = [
      ['elections', () => Promise.all([...this.#elections.values()].map((e) => e.stop())).then()],
      ['workers', () => this.#manager?.shutdown()],
      ['heartbeat', () => this.#heartbeat?.stop()],
      ['membership', () => this.#membership?.stop()],
      ['leader watch', () => this.#leaderWatch?.stop()],
      [
        'connection',
        async () => {
          if (this.ownsConnection && !this.connection.isClosed()) await this.connection.drain();
        },
      ],
    ];
    for (const [name, step] of steps) {
      try {
        await step();
      } catch (err) {
        this.#log.warn({ err, step: name }, 'leave step failed');
      }
    }
    this.#events.close();
  }

  /** Cluster events from now on, as an async iterator that ends on `leave()`. */
  events(): AsyncIterableIterator<ClusterEvent> {
    return this.#events.subscribe();
  }

  /** Call `listener` for each event; returns the unsubscribe function. */
  on(listener: (e: ClusterEvent) => void): () => void {
    return this.#events.on(listener);
  }

  /** Live members (this node included once joined), sorted by nodeId. */
  nodes(): NodeHeartbeat[] {
    return this.#membership?.nodes() ?? [];
  }

  /** role -> leader nodeId, for every role that has a live leader. */
  leaders(): Record<string, string> {
    return this.#leaderWatch?.leaders() ?? {};
  }

  /** Whether this node leads `role` now. */
  isLeader(role: string): boolean {
    return this.#elections.get(role)?.isLeader ?? false;
  }

  /** The election of one of this node's roles (for its fencing token and change callbacks). */
  election(role: string): LeaderElection | undefined {
    return this.#elections.get(role);
  }

  /** Same as `leave()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.leave();
  }
}
