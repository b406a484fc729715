/**
 * The dashboard's view of the cluster in one JSON document: queues by type
 * and priority with their rates, nodes, leaders, alerts, sweeps, a throughput
 * timeline and the latest events. Served by `GET /api/overview` and pushed as
 * the `overview` event of `GET /api/events`.
 */
import { PRIORITIES, type JobEvent, type QueueStats } from '@rfw/core';
import type { AlertRecord } from './alerts.js';
import {
  oldestWaitingMs,
  type LeaderView,
  type MonitorMetrics,
  type NodeView,
} from './cluster-view.js';
import type { Sweep } from './event-tracker.js';
import type { JobMonitor } from './job-monitor.js';

export interface QueueRow extends QueueStats {
  type: string;
  priority: string;
  /** Jobs succeeded per second over the rate window. */
  throughput: number;
  /** Failed attempts per second over the rate window. */
  failures: number;
  paused: boolean;
  /** Live nodes running the type. */
  workers: number;
  /** ms the oldest job waiting for a worker has waited; 0 when none waits. */
  oldestWaitingMs: number;
  /**
   * Attempt run times over the rate window, ms (p50, p99, nearest rank; from
   * the `durationMs` of job events, the latest 1024 attempts at most).
   */
  runTime: { count: number; p50: number; p99: number };
}

/** An alert as the API shows it: the record without its queued payloads. */
export type AlertView = Omit<AlertRecord, 'outbox' | 'v'> & { pendingNotifications: number };

export interface Overview {
  at: number;
  installation: string;
  monitor: {
    nodeId: string;
    isLeader: boolean;
    leader?: string;
    state: string;
    ready: true | string;
  };
  metrics?: MonitorMetrics;
  queues: QueueRow[];
  nodes: NodeView[];
  leaders: LeaderView[];
  alerts: AlertView[];
  sweeps: Sweep[];
  paused: string[];
  /** Counts per step over the last `steps * stepMs`, oldest first. */
  timeline: { stepMs: number; succeeded: number[]; failed: number[]; started: number[] };
  rateWindowMs: number;
  recent: JobEvent[];
}

export function alertView(r: AlertRecord): AlertView {
  const { outbox, v: _v, ...rest } = r;
  return { ...rest, pendingNotifications: outbox.length };
}

const TIMELINE_STEP_MS = 10_000;
const TIMELINE_POINTS = 60;

export function buildOverview(monitor: JobMonitor): Overview {
  const snap = monitor.snapshot();
  const rates = new Map(monitor.rates().map((r) => [`${r.type}\u0000${r.priority}`, r]));
  const paused = new Set(snap?.paused ?? []);
  const latency = new Map((snap?.latency ?? []).map((l) => [`${l.type}\u0000${l.priority}`, l]));
  const now = Date.now();
  const queues: QueueRow[] = [];
  for (const [type, t] of Object.entries(snap?.statistics.byType ?? {}).sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    for (const p of PRIORITIES) {
      const c = t.byPriority[p];
      if (!c) continue;
      const r = rates.get(`${type}\u0000${p}`);
      queues.push({
        type,
        priority: p,
        ...c,
        throughput: r?.throughput ?? 0,
        failures: r?.failures ?? 0,
        paused: paused.has(type),
        workers: snap?.metrics.byType[type]?.workerCount ?? 0,
        oldestWaitingMs: oldestWaitingMs(latency.get(`${type}\u0000${p}`), now),
        runTime: monitor.runTimes.stats(type, p, monitor.opts.rateWindowMs, now),
      });
    }
  }
  const counts = monitor.tracker.counts;
  return {
    at: Date.now(),
    installation: monitor.opts.prefix,
    monitor: {
      nodeId: monitor.nodeId,
      isLeader: monitor.isLeader,
      leader: monitor.leader,
      state: monitor.state,
      ready: monitor.ready(),
    },
    metrics: snap?.metrics,
    queues,
    nodes: snap?.nodes ?? [],
    leaders: snap?.leaders ?? [],
    alerts: monitor.alerts.lastKnown.map(alertView),
    sweeps: monitor.tracker.sweeps(),
    paused: snap?.paused ?? [],
    timeline: {
      stepMs: TIMELINE_STEP_MS,
      succeeded: counts.timeline(['succeeded'], TIMELINE_STEP_MS, TIMELINE_POINTS),
      failed: counts.timeline(['retrying', 'dead'], TIMELINE_STEP_MS, TIMELINE_POINTS),
      started: counts.timeline(['running'], TIMELINE_STEP_MS, TIMELINE_POINTS),
    },
    rateWindowMs: monitor.opts.rateWindowMs,
    recent: monitor.tracker.recent(50),
  };
}
