/**
 * `Heartbeat`: presence in the nodes bucket for a node that runs no workers
 * (a scheduler or monitor instance). It writes the same `NodeHeartbeat` as the
 * WorkerManager, every `intervalMs`, and deletes it on `stop()`.
 */
import { hostname } from 'node:os';
import type { NatsConnection } from '@nats-io/nats-core';
import type { KV } from '@nats-io/kv';
import {
  Names,
  createLogger,
  encodeJson,
  nodesBucketOptions,
  type Logger,
  type NodeHeartbeat,
} from '@rfw/core/internal';
import { RUNTIME_VERSION } from '@rfw/worker/internal';
import { openCoordinationBucket, validateMs, validateNodeId } from './lease.js';

export interface HeartbeatOptions {
  connection: NatsConnection;
  /** @default 'rfw' */
  prefix?: string;
  nodeId: string;
  /** Heartbeat period, ms; peers consider the node gone after 3 silent periods. @default 5000 */
  intervalMs?: number;
  /** Leader roles this node competes for. @default [] */
  roles?: string[];
  /** Job types this node runs. @default [] */
  types?: string[];
  /** Replicas of the nodes bucket. @default 1 */
  replicas?: number;
  logger?: Logger;
}

export class Heartbeat implements AsyncDisposable {
  readonly nodeId: string;
  readonly intervalMs: number;
  readonly #startedAt = Date.now();
  readonly #log: Logger;
  #roles: string[];
  #types: string[];
  #timer?: NodeJS.Timeout;
  #stopping?: Promise<void>;
  #lastWriteOk = false;
  #inFlight?: Promise<void>;

  private constructor(
    private readonly kv: KV,
    private readonly nc: NatsConnection,
    opts: HeartbeatOptions,
    intervalMs: number,
  ) {
    this.nodeId = opts.nodeId;
    this.intervalMs = intervalMs;
    this.#roles = [...(opts.roles ?? [])];
    this.#types = [...(opts.types ?? [])];
    this.#log = (opts.logger ?? createLogger('heartbeat')).child({ nodeId: opts.nodeId });
  }

  /** Open the nodes bucket, write the first heartbeat, and keep writing. Throws `ConfigError` on bad options. */
  static async start(opts: HeartbeatOptions): Promise<Heartbeat> {
    validateNodeId(opts.nodeId);
    const intervalMs = validateMs('intervalMs', opts.intervalMs, 5000, 50);
    const kv = await openCoordinationBucket(
      opts.connection,
      new Names(opts.prefix ?? 'rfw').nodesBucket,
      {
        ...nodesBucketOptions,
        replicas: opts.replicas ?? 1,
        timeoutMs: Math.max(1000, Math.min(5000, intervalMs)),
      },
    );
    const hb = new Heartbeat(kv, opts.connection, opts, intervalMs);
    await hb.beat();
    hb.#timer = setInterval(() => void hb.beat(), intervalMs);
    return hb;
  }

  /** Whether the last write succeeded (for readiness). */
  get healthy(): boolean {
    return this.#lastWriteOk;
  }

  /** Change the advertised roles; written with the next beat. */
  setRoles(roles: string[]): void {
    this.#roles = [...roles];
  }

  /** Write one heartbeat now. Never throws (a failure is logged and retried next period). */
  beat(): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    this.#inFlight ??= this.#write().finally(() => (this.#inFlight = undefined));
    return this.#inFlight;
  }

  async #write(): Promise<void> {
    const hb: NodeHeartbeat = {
      v: 1,
      nodeId: this.nodeId,
      types: this.#types,
      roles: this.#roles,
      capacity: 0,
      inFlight: 0,
      running: [],
      held: {},
      version: RUNTIME_VERSION,
      host: hostname(),
      pid: process.pid,
      startedAt: this.#startedAt,
      at: Date.now(),
      heartbeatIntervalMs: this.intervalMs,
    };
    try {
      await this.kv.put(this.nodeId, encodeJson(hb));
      this.#lastWriteOk = true;
    } catch (err) {
      this.#lastWriteOk = false;
      this.#log.warn({ err: (err as Error).message }, 'heartbeat failed');
    }
  }

  /** Stop beating and delete the heartbeat, so peers see a clean leave at once. Safe twice. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      clearInterval(this.#timer);
      await this.#inFlight;
      if (this.nc.isClosed()) return;
      try {
        await this.kv.delete(this.nodeId);
      } catch (err) {
        this.#log.warn({ err: (err as Error).message }, 'could not delete the heartbeat');
      }
    })();
    return this.#stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
