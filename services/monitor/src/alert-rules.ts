/**
 * The alert rules: from one cluster snapshot and the recent event counts, the
 * set of conditions that hold right now. Pure functions; the alert manager
 * turns changes in this set into firing and resolved notifications.
 */
import { oldestWaitingMs, type ClusterSnapshot } from './cluster-view.js';
import type { CompiledAlertOptions } from './monitor-options.js';
import type { RollingCounts } from './rolling-counts.js';

export const AlertKind = {
  /** Too many jobs of one type died within the window. */
  FailedJobs: 'failed_jobs',
  /** A node stopped sending heartbeats without leaving. */
  WorkerDown: 'worker_down',
  /** A type's queue holds too many jobs. */
  QueueSize: 'queue_size',
  /** A queue's oldest waiting job has waited too long. */
  QueueLatency: 'queue_latency',
} as const;
export type AlertKind = (typeof AlertKind)[keyof typeof AlertKind];

export type Severity = 'warning' | 'critical';

/**
 * A condition that holds now. `key` identifies the alert: `<kind>.<type or
 * node>`, or `queue_latency.<type>.<priority>`.
 */
export interface AlertCondition {
  key: string;
  kind: AlertKind;
  labels: Record<string, string>;
  severity: Severity;
  value: number;
  threshold: number;
  summary: string;
}

export interface RuleInput {
  snapshot: ClusterSnapshot;
  counts: RollingCounts;
  now?: number;
}

export function fmtMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}

/** The kinds whose rule is on: a firing alert of another kind resolves. */
export function enabledKinds(cfg: CompiledAlertOptions): Set<AlertKind> {
  const on = new Set<AlertKind>();
  if (cfg.failedJobThreshold !== undefined) on.add(AlertKind.FailedJobs);
  if (cfg.workerDownThresholdMs !== undefined) on.add(AlertKind.WorkerDown);
  if (cfg.queueSizeThreshold !== undefined) on.add(AlertKind.QueueSize);
  if (cfg.queueLatencyThresholdMs !== undefined) on.add(AlertKind.QueueLatency);
  return on;
}

export function evaluateRules(
  cfg: CompiledAlertOptions,
  input: RuleInput,
): Map<string, AlertCondition> {
  const now = input.now ?? Date.now();
  const out = new Map<string, AlertCondition>();
  const add = (c: AlertCondition): void => void out.set(c.key, c);

  if (cfg.failedJobThreshold !== undefined) {
    const threshold = cfg.failedJobThreshold;
    const byQueue = input.counts.byQueue(cfg.failedJobWindowMs, now);
    for (const [type, byPrio] of byQueue) {
      let dead = 0;
      for (const cell of byPrio.values()) dead += cell.dead ?? 0;
      if (dead > threshold) {
        add({
          key: `${AlertKind.FailedJobs}.${type}`,
          kind: AlertKind.FailedJobs,
          labels: { type },
          severity: 'warning',
          value: dead,
          threshold,
          summary: `${dead} ${type} jobs failed in the last ${fmtMs(cfg.failedJobWindowMs)} (threshold ${threshold})`,
        });
      }
    }
  }

  if (cfg.workerDownThresholdMs !== undefined) {
    const threshold = cfg.workerDownThresholdMs;
    for (const n of input.snapshot.nodes) {
      const silent = Math.max(0, now - n.at);
      if (silent > threshold) {
        add({
          key: `${AlertKind.WorkerDown}.${n.nodeId}`,
          kind: AlertKind.WorkerDown,
          labels: { node: n.nodeId, host: n.host, types: n.types.join(',') },
          severity: 'critical',
          value: silent,
          threshold,
          summary: `node ${n.nodeId} (${n.types.join(', ') || 'no types'}) has sent no heartbeat for ${fmtMs(Math.round(silent / 1000) * 1000)} (threshold ${fmtMs(threshold)})`,
        });
      }
    }
  }

  if (cfg.queueSizeThreshold !== undefined) {
    const threshold = cfg.queueSizeThreshold;
    for (const [type, t] of Object.entries(input.snapshot.statistics.byType)) {
      const size = t.total.queueSize;
      if (size > threshold) {
        add({
          key: `${AlertKind.QueueSize}.${type}`,
          kind: AlertKind.QueueSize,
          labels: { type },
          severity: 'warning',
          value: size,
          threshold,
          summary: `queue ${type} holds ${size} jobs (threshold ${threshold})`,
        });
      }
    }
  }

  if (cfg.queueLatencyThresholdMs !== undefined) {
    const threshold = cfg.queueLatencyThresholdMs;
    for (const l of input.snapshot.latency ?? []) {
      const age = oldestWaitingMs(l, now);
      if (age > threshold) {
        add({
          key: `${AlertKind.QueueLatency}.${l.type}.${l.priority}`,
          kind: AlertKind.QueueLatency,
          labels: { type: l.type, priority: l.priority },
          severity: 'warning',
          value: age,
          threshold,
          summary: `the oldest ${l.priority} ${l.type} job has waited ${fmtAge(age)} for a worker (${l.waiting} waiting, threshold ${fmtMs(threshold)})`,
        });
      }
    }
  }
  return out;
}

/** An age to a readable precision: ms under 10 s, else whole seconds. */
export function fmtAge(ms: number): string {
  return ms < 10_000 ? `${Math.round(ms)} ms` : fmtMs(Math.round(ms / 1000) * 1000);
}
