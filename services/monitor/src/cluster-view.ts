/**
 * One consistent read of the cluster: queue counts (from `JobQueue.statistics()`),
 * every node heartbeat with its health, the leaders, and the paused types.
 * The monitor refreshes it on a timer; metrics, alerts, the API and the
 * dashboard all read the same snapshot.
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import {
  decodeJson,
  Hdr,
  PRIORITIES,
  type CoreContext,
  type Priority,
  type JobQueue,
  type NodeHeartbeat,
  type QueueStats,
  type Statistics,
} from '@rfw/core/internal';
import { bucketKeys } from './bucket-keys.js';

/** A node's heartbeat and what the monitor makes of it. */
export interface NodeView extends NodeHeartbeat {
  /**
   * `up`: heard from within 3 heartbeat periods; `missing`: silent longer
   * than that; `down`: silent longer than the `workerDownThreshold`.
   */
  status: 'up' | 'missing' | 'down';
  /** ms since its last heartbeat. */
  silentMs: number;
}

/** The holder of a leader role, read from the `<prefix>_leader` bucket. */
export interface LeaderView {
  role: string;
  holder: string;
  /** KV revision of the lease (changes on every renewal). */
  revision: number;
  /** ms since the epoch, by the holder's clock. */
  acquiredAt?: number;
  renewedAt?: number;
  expiresAt?: number;
  /** The holder's lease looks expired by this monitor's clock (informational). */
  expired: boolean;
}

/** The seed's `getMetrics()` figures, for the cluster or one type. */
export interface JobMetrics {
  /** Delivered and not yet acknowledged: running, or waiting for a retry (`running` in statistics). */
  activeJobs: number;
  /** Jobs that succeeded, over the events retention (`succeeded`). */
  completedJobs: number;
  /** Jobs that failed for good, dead-lettered, over the events retention (`dead`). */
  failedJobs: number;
  /** Jobs in the queue stream: waiting plus in flight (`queueSize`). */
  queueSize: number;
  /** Live worker nodes (running this type, for a type). */
  workerCount: number;
  /** Waiting for a worker (`pending`). */
  pending: number;
  /** Scheduled for later (`delayed`). */
  delayed: number;
  /** Failed attempts, retries and deaths (`failed`). */
  failedAttempts: number;
  cancelled: number;
  /** Dead letters waiting in the DLQ (`dlq`). */
  dlq: number;
}

export interface MonitorMetrics extends JobMetrics {
  byType: Record<string, JobMetrics>;
  /** ms since the epoch. */
  generatedAt: number;
}

/** How long the oldest job of one queue (type and priority) has been waiting for a worker. */
export interface QueueLatency {
  type: string;
  priority: Priority;
  /** Jobs not yet delivered to any worker (`pending`). */
  waiting: number;
  /**
   * When the oldest of them started waiting, ms since the epoch by the
   * server's clock: its store time, or its run-at when earlier (a delayed job
   * released late). Unset when none wait.
   */
  oldestAt?: number;
}

/** ms the oldest job of `l` has waited at `now`; 0 when none waits. */
export function oldestWaitingMs(l: QueueLatency | undefined, now = Date.now()): number {
  return l?.oldestAt === undefined ? 0 : Math.max(0, now - l.oldestAt);
}

export interface ClusterSnapshot {
  /** ms since the epoch. */
  at: number;
  statistics: Statistics;
  metrics: MonitorMetrics;
  /** Every heartbeat in the nodes bucket (live or not), by node id. */
  nodes: NodeView[];
  leaders: LeaderView[];
  paused: string[];
  /** The oldest waiting job of each queue that has a consumer or waiting jobs. */
  latency: QueueLatency[];
}

function jobMetrics(s: QueueStats, workerCount: number): JobMetrics {
  return {
    activeJobs: s.running,
    completedJobs: s.succeeded,
    failedJobs: s.dead,
    queueSize: s.queueSize,
    workerCount,
    pending: s.pending,
    delayed: s.delayed,
    failedAttempts: s.failed,
    cancelled: s.cancelled,
    dlq: s.dlq,
  };
}

/** `getMetrics()` figures from statistics and the live nodes. */
export function deriveMetrics(stats: Statistics, nodes: readonly NodeView[]): MonitorMetrics {
  const live = nodes.filter((n) => n.status === 'up' && n.types.length > 0);
  const byType: Record<string, JobMetrics> = {};
  const types = new Set([...Object.keys(stats.byType), ...live.flatMap((n) => n.types)]);
  for (const type of [...types].sort()) {
    const t = stats.byType[type]?.total;
    const workers = live.filter((n) => n.types.includes(type)).length;
    byType[type] = t
      ? jobMetrics(t, workers)
      : jobMetrics(
          {
            pending: 0,
            delayed: 0,
            running: 0,
            succeeded: 0,
            failed: 0,
            retrying: 0,
            dead: 0,
            cancelled: 0,
            queueSize: 0,
            dlq: 0,
          },
          workers,
        );
  }
  return { ...jobMetrics(stats.total, live.length), byType, generatedAt: stats.generatedAt };
}

/** Every heartbeat in the nodes bucket, judged against `now`. */
export async function readNodes(
  jsm: JetStreamManager,
  kv: KV,
  bucket: string,
  downAfterMs: number | undefined,
  now = Date.now(),
): Promise<NodeView[]> {
  const keys = await bucketKeys(jsm, bucket);
  const out: NodeView[] = [];
  await Promise.all(
    keys.map(async (k) => {
      const e = await kv.get(k);
      if (!e || e.operation !== 'PUT') return;
      let hb: NodeHeartbeat;
      try {
        hb = decodeJson<NodeHeartbeat>(e.value);
      } catch {
        return;
      }
      if (typeof hb.at !== 'number' || typeof hb.nodeId !== 'string') return;
      const silentMs = Math.max(0, now - hb.at);
      const period = hb.heartbeatIntervalMs > 0 ? hb.heartbeatIntervalMs : 5000;
      const status =
        silentMs <= 3 * period
          ? 'up'
          : downAfterMs !== undefined && silentMs > downAfterMs
            ? 'down'
            : 'missing';
      out.push({
        ...hb,
        types: Array.isArray(hb.types) ? hb.types : [],
        roles: Array.isArray(hb.roles) ? hb.roles : [],
        status,
        silentMs,
      });
    }),
  );
  return out.sort((a, b) => a.nodeId.localeCompare(b.nodeId));
}

/** Opens a bucket that someone else creates; `undefined` while it does not exist. */
export async function openExistingBucket(ctx: CoreContext, name: string): Promise<KV | undefined> {
  try {
    await ctx.jsm.streams.info(`KV_${name}`);
  } catch {
    return undefined;
  }
  return new Kvm(ctx.nc).open(name);
}

/** The lease holders of the leader bucket (written by `@rfw/cluster`'s `LeaderElection`). */
export async function readLeaders(
  jsm: JetStreamManager,
  kv: KV | undefined,
  bucket: string,
  now = Date.now(),
): Promise<LeaderView[]> {
  if (!kv) return [];
  const keys = await bucketKeys(jsm, bucket);
  const out: LeaderView[] = [];
  await Promise.all(
    keys.map(async (role) => {
      const e = await kv.get(role);
      if (!e || e.operation !== 'PUT') return;
      let lease: Record<string, unknown>;
      try {
        lease = decodeJson<Record<string, unknown>>(e.value);
      } catch {
        return;
      }
      const holder = lease.holder ?? lease.leader ?? lease.nodeId;
      if (typeof holder !== 'string') return;
      const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
      const expiresAt = num(lease.expiresAt);
      out.push({
        role,
        holder,
        revision: e.revision,
        acquiredAt: num(lease.acquiredAt),
        renewedAt: num(lease.renewedAt),
        expiresAt,
        expired: expiresAt !== undefined && expiresAt < now,
      });
    }),
  );
  return out.sort((a, b) => a.role.localeCompare(b.role));
}

/**
 * The oldest waiting job of every queue: one page of consumer infos for the
 * whole jobs stream (each consumer's `num_pending` and last delivered
 * sequence), then one direct get per queue with jobs waiting, for the first
 * message of its filter after that sequence. A queue no worker has consumed
 * yet (no consumer) is read from the start of the stream.
 */
export async function readQueueLatency(
  ctx: CoreContext,
  stats: Statistics,
): Promise<QueueLatency[]> {
  const { names, jsm } = ctx;
  const stream = names.jobsStream;
  const queues = new Map<string, QueueLatency & { fromSeq: number }>();
  for await (const ci of jsm.consumers.list(stream)) {
    const f = ci.config.filter_subject;
    const p = f ? names.parseJobSubject(f) : undefined;
    if (!f || !p || !(PRIORITIES as readonly string[]).includes(p.priority)) continue;
    if (f !== names.jobFilter(p.type, p.priority as Priority)) continue;
    queues.set(f, {
      type: p.type,
      priority: p.priority as Priority,
      waiting: ci.num_pending,
      fromSeq: ci.delivered.stream_seq + 1,
    });
  }
  for (const [type, t] of Object.entries(stats.byType)) {
    for (const p of PRIORITIES) {
      const f = names.jobFilter(type, p);
      const pending = t.byPriority[p]?.pending ?? 0;
      if (!queues.has(f) && pending > 0)
        queues.set(f, { type, priority: p, waiting: pending, fromSeq: 1 });
    }
  }
  const out = await Promise.all(
    [...queues].map(async ([filter, q]): Promise<QueueLatency> => {
      const l: QueueLatency = { type: q.type, priority: q.priority, waiting: q.waiting };
      if (q.waiting === 0) return l;
      const m = await jsm.direct.getMessage(stream, { seq: q.fromSeq, next_by_subj: filter });
      if (!m) return l;
      const stored = m.time.getTime();
      const runAt = Number(m.header?.get(Hdr.RunAt) || NaN);
      l.oldestAt = runAt > 0 && runAt < stored ? runAt : stored;
      return l;
    }),
  );
  return out.sort((a, b) =>
    a.type === b.type
      ? PRIORITIES.indexOf(a.priority) - PRIORITIES.indexOf(b.priority)
      : a.type.localeCompare(b.type),
  );
}

/** Read everything at once. */
export async function readClusterView(
  queue: JobQueue,
  nodesKv: KV,
  leaderKv: KV | undefined,
  downAfterMs: number | undefined,
): Promise<ClusterSnapshot> {
  const stats = queue.statistics();
  const [statistics, nodes, leaders, paused, latency] = await Promise.all([
    stats,
    readNodes(queue.ctx.jsm, nodesKv, queue.ctx.names.nodesBucket, downAfterMs),
    readLeaders(queue.ctx.jsm, leaderKv, queue.ctx.names.leaderBucket),
    queue.pausedTypes(),
    stats.then((s) => readQueueLatency(queue.ctx, s)),
  ]);
  return {
    at: Date.now(),
    statistics,
    metrics: deriveMetrics(statistics, nodes),
    nodes,
    leaders,
    paused,
    latency,
  };
}
