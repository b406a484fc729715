/**
 * `Membership`: who is in the cluster, from the heartbeats in the nodes
 * bucket. A KV watch reports writes and clean deletes at once; a periodic
 * check finds nodes whose heartbeat went stale (a crash: on nats-server 2.9 a
 * key that ages out produces no watch event, and a crashed node deletes
 * nothing), and a periodic rescan repairs anything a watch missed across a
 * reconnect. Liveness follows the rule shared with the worker runtime and the
 * monitor: a node is live while `now - heartbeat.at <= 3 * heartbeatIntervalMs`.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import type { KV, KvEntry } from '@nats-io/kv';
import {
  Names,
  createLogger,
  decodeJson,
  nodesBucketOptions,
  type Logger,
  type NodeHeartbeat,
} from '@rfw/core/internal';
import { EventChannel } from './event-channel.js';
import { openCoordinationBucket, validateMs } from './lease.js';

/** How a node left: it deleted its heartbeat (clean shutdown), or its heartbeat went stale (crash, partition). */
export type LeaveReason = 'shutdown' | 'timeout';

/** What `Membership` reports: a node joined, or left (with the reason). */
export type MembershipEvent =
  | { type: 'node-joined'; node: NodeHeartbeat }
  | { type: 'node-left'; node: NodeHeartbeat; reason: LeaveReason };

/** Options of a `Membership`. */
export interface MembershipOptions {
  /** The NATS connection to use; `stop()` leaves it open. */
  connection: NatsConnection;
  /** @default 'rfw' */
  prefix?: string;
  /** Period of the staleness check, ms. @default 250 */
  checkIntervalMs?: number;
  /** Period of the full rescan of the bucket, ms. @default 10000 */
  rescanIntervalMs?: number;
  /** Replicas of the nodes bucket. @default 1 */
  replicas?: number;
  /** Logger for the membership's own messages. @default a new `membership` logger */
  logger?: Logger;
}

/** Missed periods after which a silent node is gone. */
export const MISSED_HEARTBEATS = 3;

interface Known {
  hb: NodeHeartbeat;
  revision: number;
  live: boolean;
}

function isHeartbeat(v: unknown): v is NodeHeartbeat {
  const h = v as Partial<NodeHeartbeat> | null;
  return (
    !!h &&
    typeof h.nodeId === 'string' &&
    typeof h.at === 'number' &&
    typeof h.heartbeatIntervalMs === 'number' &&
    h.heartbeatIntervalMs > 0
  );
}

export function isLive(hb: NodeHeartbeat, now = Date.now()): boolean {
  return now - hb.at <= MISSED_HEARTBEATS * hb.heartbeatIntervalMs;
}

/**
 * The live nodes of the cluster, from their heartbeats in the nodes bucket:
 * emits `node-joined` and `node-left` (missed heartbeats or a clean leave).
 */
export class Membership implements AsyncDisposable {
  readonly #known = new Map<string, Known>();
  readonly #events = new EventChannel<MembershipEvent>();
  readonly #log: Logger;
  readonly #timers: NodeJS.Timeout[] = [];
  #watch?: { stop(): void };
  #stopping?: Promise<void>;

  private constructor(
    private readonly kv: KV,
    logger: Logger,
  ) {
    this.#log = logger;
  }

  /**
   * Open the nodes bucket and start following it. Nodes live at start are
   * reported as `node-joined` to listeners registered with `onEvent`.
   */
  static async start(
    opts: MembershipOptions,
    onEvent?: (e: MembershipEvent) => void,
  ): Promise<Membership> {
    const checkMs = validateMs('checkIntervalMs', opts.checkIntervalMs, 250, 10);
    const rescanMs = validateMs('rescanIntervalMs', opts.rescanIntervalMs, 10_000, 100);
    const kv = await openCoordinationBucket(
      opts.connection,
      new Names(opts.prefix ?? 'rfw').nodesBucket,
      { ...nodesBucketOptions, replicas: opts.replicas ?? 1, timeoutMs: 5000 },
    );
    const m = new Membership(kv, opts.logger ?? createLogger('membership'));
    if (onEvent) m.#events.on(onEvent);
    // Watch first, then scan: a write between the two is seen by one or both,
    // and revisions make seeing it twice harmless.
    const watch = await kv.watch({ include: 'updates' as never });
    m.#watch = watch;
    void (async () => {
      try {
        for await (const e of watch) m.#apply(e.key, e);
      } catch (err) {
        m.#log.debug({ err }, 'nodes watch ended');
      }
    })();
    await m.rescan();
    m.#timers.push(
      setInterval(() => m.#checkStale(), checkMs),
      setInterval(() => void m.rescan().catch(() => undefined), rescanMs),
    );
    return m;
  }

  /** Live members now, sorted by nodeId. */
  nodes(): NodeHeartbeat[] {
    this.#checkStale();
    return [...this.#known.values()]
      .filter((k) => k.live)
      .map((k) => k.hb)
      .sort((a, b) => a.nodeId.localeCompare(b.nodeId));
  }

  /** An iterator over membership events from now on; ends on `stop()`. */
  events(): AsyncIterableIterator<MembershipEvent> {
    return this.#events.subscribe();
  }

  /** Call `listener` for each membership event from now on; returns the unsubscribe function. */
  on(listener: (e: MembershipEvent) => void): () => void {
    return this.#events.on(listener);
  }

  /** Re-read the whole bucket (also run periodically). */
  async rescan(): Promise<void> {
    const keys: string[] = [];
    for await (const k of await this.kv.keys()) keys.push(k);
    const present = new Set(keys);
    await Promise.all(
      keys.map(async (k) => {
        const e = await this.kv.get(k);
        if (e) this.#apply(k, e);
      }),
    );
    for (const [id, k] of this.#known) {
      if (!present.has(id) && k.live) this.#leave(id, k, 'shutdown');
    }
    this.#checkStale();
  }

  #apply(key: string, e: Pick<KvEntry, 'operation' | 'revision' | 'value'>): void {
    if (this.#stopping) return;
    const cur = this.#known.get(key);
    if (cur && e.revision <= cur.revision) return;
    if (e.operation !== 'PUT') {
      if (cur?.live) this.#leave(key, cur, 'shutdown');
      this.#known.delete(key);
      return;
    }
    let hb: unknown;
    try {
      hb = decodeJson(e.value);
    } catch {
      hb = undefined;
    }
    if (!isHeartbeat(hb)) {
      this.#log.debug({ key }, 'ignoring a value that is not a heartbeat');
      return;
    }
    const live = isLive(hb);
    const next: Known = { hb, revision: e.revision, live };
    this.#known.set(key, next);
    if (live && !cur?.live) {
      this.#log.info({ node: hb.nodeId, types: hb.types, roles: hb.roles }, 'node joined');
      this.#events.emit({ type: 'node-joined', node: hb });
    } else if (!live && cur?.live) {
      this.#leave(key, next, 'timeout');
    }
  }

  #leave(key: string, k: Known, reason: LeaveReason): void {
    k.live = false;
    this.#log.info({ node: key, reason }, 'node left');
    this.#events.emit({ type: 'node-left', node: k.hb, reason });
  }

  #checkStale(): void {
    const now = Date.now();
    for (const [id, k] of this.#known) {
      if (k.live && !isLive(k.hb, now)) this.#leave(id, k, 'timeout');
    }
  }

  /** Stop following the bucket and end the event iterators. Safe twice. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      for (const t of this.#timers) clearInterval(t);
      try {
        this.#watch?.stop();
      } catch {
        // already stopped
      }
      this.#events.close();
    })();
    return this.#stopping;
  }

  /** Same as `stop()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
