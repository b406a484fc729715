/**
 * The monitor's Prometheus registry: the cluster view (per type and priority:
 * queue depth, in flight, delayed, rates, failures, DLQ size; nodes; leaders;
 * alerts), set from the latest snapshot when scraped, beside the monitor
 * process's own metrics. Every monitor exports the same cluster gauges, each
 * labelled with its `monitor` id: aggregate with `max by (...)`.
 */
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type CollectFunction,
} from 'prom-client';
import { PRIORITIES, type QueueStats } from '@rfw/core';
import type { AlertRecord } from './alerts.js';
import { oldestWaitingMs, type ClusterSnapshot } from './cluster-view.js';
import type { EventTracker } from './event-tracker.js';

export interface ClusterMetricsSource {
  snapshot(): ClusterSnapshot | undefined;
  tracker: EventTracker;
  alerts(): readonly AlertRecord[];
  isLeader(): boolean;
  rateWindowMs: number;
}

type QueueField = keyof QueueStats;

export class ClusterMetrics {
  readonly registry = new Registry();
  readonly jobEvents: Counter<'type' | 'priority' | 'state'>;
  readonly duration: Histogram<'type' | 'outcome'>;
  readonly notifications: Counter<'status' | 'outcome'>;
  readonly refreshErrors: Counter;

  constructor(
    private readonly src: ClusterMetricsSource,
    monitorId: string,
    withProcessMetrics = true,
  ) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ monitor: monitorId });
    if (withProcessMetrics)
      collectDefaultMetrics({ register: this.registry, prefix: 'rfw_process_' });

    const perQueue = (name: string, help: string, field: QueueField): void => {
      const collect: CollectFunction<Gauge<'type' | 'priority'>> = function () {
        this.reset();
        const snap = src.snapshot();
        if (!snap) return;
        for (const [type, t] of Object.entries(snap.statistics.byType)) {
          for (const p of PRIORITIES) {
            const c = t.byPriority[p];
            if (c) this.set({ type, priority: p }, c[field]);
          }
        }
      };
      new Gauge({ name, help, labelNames: ['type', 'priority'], registers, collect });
    };
    perQueue('rfw_cluster_queue_depth', 'Jobs waiting for a worker', 'pending');
    perQueue('rfw_cluster_jobs_in_flight', 'Jobs delivered and not yet acknowledged', 'running');
    perQueue('rfw_cluster_jobs_delayed', 'Jobs scheduled for later', 'delayed');
    perQueue(
      'rfw_cluster_queue_size',
      'Messages in the jobs stream (waiting plus in flight)',
      'queueSize',
    );

    new Gauge({
      name: 'rfw_cluster_queue_oldest_waiting_seconds',
      help: 'Age of the oldest job waiting for a worker (0 when none waits)',
      labelNames: ['type', 'priority'],
      registers,
      collect() {
        this.reset();
        const now = Date.now();
        for (const l of src.snapshot()?.latency ?? [])
          this.set({ type: l.type, priority: l.priority }, oldestWaitingMs(l, now) / 1000);
      },
    });
    new Gauge({
      name: 'rfw_cluster_jobs_finished',
      help: 'Jobs by final state (and retries) over the events retention window',
      labelNames: ['type', 'priority', 'state'],
      registers,
      collect() {
        this.reset();
        const snap = src.snapshot();
        if (!snap) return;
        for (const [type, t] of Object.entries(snap.statistics.byType)) {
          for (const p of PRIORITIES) {
            const c = t.byPriority[p];
            if (!c) continue;
            for (const state of ['succeeded', 'dead', 'cancelled', 'retrying'] as const)
              this.set({ type, priority: p, state }, c[state]);
          }
        }
      },
    });
    new Gauge({
      name: 'rfw_cluster_dlq_size',
      help: 'Dead letters waiting in the DLQ',
      labelNames: ['type'],
      registers,
      collect() {
        this.reset();
        const snap = src.snapshot();
        if (!snap) return;
        for (const [type, t] of Object.entries(snap.statistics.byType))
          this.set({ type }, t.total.dlq);
      },
    });

    const rate = (name: string, help: string, states: string[]): void => {
      new Gauge({
        name,
        help,
        labelNames: ['type', 'priority'],
        registers,
        collect() {
          this.reset();
          const w = src.rateWindowMs;
          for (const [type, byPrio] of src.tracker.counts.byQueue(w)) {
            for (const [priority, cell] of byPrio) {
              const n = states.reduce((s, st) => s + (cell[st] ?? 0), 0);
              this.set({ type, priority }, n / (w / 1000));
            }
          }
        },
      });
    };
    rate('rfw_cluster_throughput_per_second', 'Jobs succeeded per second over the rate window', [
      'succeeded',
    ]);
    rate(
      'rfw_cluster_failures_per_second',
      'Failed attempts (retries and deaths) per second over the rate window',
      ['retrying', 'dead'],
    );
    rate('rfw_cluster_started_per_second', 'Attempts started per second over the rate window', [
      'running',
    ]);

    this.jobEvents = new Counter({
      name: 'rfw_cluster_job_events_total',
      help: 'Job events read by this monitor (history read at start included)',
      labelNames: ['type', 'priority', 'state'],
      registers,
    });
    this.duration = new Histogram({
      name: 'rfw_cluster_job_duration_seconds',
      help: 'Attempt durations reported by job events, cluster-wide',
      labelNames: ['type', 'outcome'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800],
      registers,
    });

    new Gauge({
      name: 'rfw_cluster_nodes',
      help: 'Nodes in the nodes bucket by status (up, missing, down)',
      labelNames: ['status'],
      registers,
      collect() {
        this.reset();
        const snap = src.snapshot();
        if (!snap) return;
        for (const s of ['up', 'missing', 'down'] as const)
          this.set({ status: s }, snap.nodes.filter((n) => n.status === s).length);
      },
    });
    new Gauge({
      name: 'rfw_cluster_node_up',
      help: '1 while the node heartbeats, 0 once it went silent',
      labelNames: ['node'],
      registers,
      collect() {
        this.reset();
        for (const n of src.snapshot()?.nodes ?? [])
          this.set({ node: n.nodeId }, n.status === 'up' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'rfw_cluster_node_in_flight',
      help: 'Jobs running on the node (live nodes)',
      labelNames: ['node'],
      registers,
      collect() {
        this.reset();
        for (const n of src.snapshot()?.nodes ?? [])
          if (n.status === 'up') this.set({ node: n.nodeId }, n.inFlight);
      },
    });
    new Gauge({
      name: 'rfw_cluster_node_capacity',
      help: 'Concurrent jobs the node accepts (live nodes)',
      labelNames: ['node'],
      registers,
      collect() {
        this.reset();
        for (const n of src.snapshot()?.nodes ?? [])
          if (n.status === 'up') this.set({ node: n.nodeId }, n.capacity);
      },
    });
    new Gauge({
      name: 'rfw_cluster_workers',
      help: 'Live nodes running each job type',
      labelNames: ['type'],
      registers,
      collect() {
        this.reset();
        const m = src.snapshot()?.metrics;
        if (!m) return;
        for (const [type, t] of Object.entries(m.byType)) this.set({ type }, t.workerCount);
      },
    });
    new Gauge({
      name: 'rfw_cluster_queue_paused',
      help: '1 for each job type paused cluster-wide',
      labelNames: ['type'],
      registers,
      collect() {
        this.reset();
        for (const t of src.snapshot()?.paused ?? []) this.set({ type: t }, 1);
      },
    });
    new Gauge({
      name: 'rfw_cluster_leader',
      help: '1 for the current holder of each leader role',
      labelNames: ['role', 'node'],
      registers,
      collect() {
        this.reset();
        for (const l of src.snapshot()?.leaders ?? [])
          if (!l.expired) this.set({ role: l.role, node: l.holder }, 1);
      },
    });
    new Gauge({
      name: 'rfw_cluster_sweeps_running',
      help: 'Jobs reporting progress right now',
      registers,
      collect() {
        this.set(src.tracker.sweeps().filter((s) => s.state === 'running').length);
      },
    });
    new Gauge({
      name: 'rfw_monitor_is_leader',
      help: '1 while this monitor leads (evaluates and sends alerts)',
      registers,
      collect() {
        this.set(src.isLeader() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'rfw_monitor_snapshot_age_seconds',
      help: 'Age of the cluster view served',
      registers,
      collect() {
        const s = src.snapshot();
        this.set(s ? (Date.now() - s.at) / 1000 : -1);
      },
    });
    new Gauge({
      name: 'rfw_alerts_firing',
      help: 'Alerts firing, by kind',
      labelNames: ['kind'],
      registers,
      collect() {
        this.reset();
        const counts: Record<string, number> = {
          failed_jobs: 0,
          worker_down: 0,
          queue_size: 0,
          queue_latency: 0,
        };
        for (const a of src.alerts())
          if (a.status === 'firing') counts[a.kind] = (counts[a.kind] ?? 0) + 1;
        for (const [kind, n] of Object.entries(counts)) this.set({ kind }, n);
      },
    });
    this.notifications = new Counter({
      name: 'rfw_alert_notifications_total',
      help: 'Webhook delivery attempts by notification status and outcome',
      labelNames: ['status', 'outcome'],
      registers,
    });
    this.refreshErrors = new Counter({
      name: 'rfw_monitor_refresh_errors_total',
      help: 'Failed refreshes of the cluster view',
      registers,
    });
  }
}
