/**
 * JobMonitor options: what a caller passes (all optional), and the compiled
 * form with defaults applied and every value checked. A bad value throws a
 * `ConfigError` naming the field.
 */
import { hostname } from 'node:os';
import type { NatsConnection } from '@nats-io/nats-core';
import {
  ConfigError,
  type ConnectOptions,
  type Logger,
  type ProvisionOptions,
} from '@rfw/core/internal';

/** The alert rules of the seed's `configureAlerts()`; a rule left unset is off. */
export interface AlertOptions {
  /**
   * Dead jobs (failed for good) of one type within `failedJobWindowMs` above
   * which the `failed_jobs` alert of that type fires. Unset: rule off.
   */
  failedJobThreshold?: number;
  /** The window `failedJobThreshold` counts over, ms. @default 300000 (5 minutes) */
  failedJobWindowMs?: number;
  /**
   * How long a node may go without a heartbeat before its `worker_down` alert
   * fires, ms. A node that leaves cleanly deletes its heartbeat and raises
   * nothing. Unset: rule off.
   */
  workerDownThreshold?: number;
  /**
   * Jobs in one type's queue (waiting plus in flight, summed over priorities)
   * above which its `queue_size` alert fires. Unset: rule off.
   */
  queueSizeThreshold?: number;
  /**
   * How long the oldest waiting job of one queue (type and priority) may
   * wait for a worker, ms, before that queue's `queue_latency` alert fires.
   * Unset: rule off.
   */
  queueLatencyThresholdMs?: number;
  /**
   * Webhook URL (http or https): each alert is POSTed there as JSON when it
   * fires and when it resolves. Unset: alerts are still tracked and shown,
   * not sent.
   */
  notificationEndpoint?: string;
}

/** How notifications are delivered to the webhook. */
export interface DeliveryOptions {
  /** Per-request timeout, ms. @default 5000 */
  timeoutMs?: number;
  /** First retry delay after a failed delivery, ms; doubles each time, with jitter. @default 500 */
  retryBaseMs?: number;
  /** Longest delay between two delivery attempts, ms. @default 60000 */
  retryCapMs?: number;
  /** Extra headers sent with every notification (e.g. `Authorization`). */
  headers?: Record<string, string>;
}

/**
 * The subset of `@rfw/cluster`'s `LeaderElection` the monitor relies on.
 * Alerts are evaluated and sent only while `isLeader` is true.
 */
export interface LeaderElector {
  readonly isLeader: boolean;
  readonly leader: string | undefined;
  readonly fencingToken: number | undefined;
  onChange(
    cb: (e: { role: string; leader?: string; isLeader: boolean; token?: number }) => void,
  ): () => void;
}

export interface JobMonitorOptions extends ConnectOptions {
  /** Use this connection; `stop()` then leaves it open. */
  connection?: NatsConnection;
  /** Names prefix of the installation. @default 'rfw' */
  prefix?: string;
  provision?: ProvisionOptions;
  /** This monitor's id (letters, digits, `-`, `_`). @default `<hostname>-<pid>` */
  nodeId?: string;
  logger?: Logger;
  /**
   * Who leads the `monitor` role. Unset: this monitor acts as the only one
   * (standalone), so run a single instance or pass a `LeaderElection`.
   */
  elector?: LeaderElector;
  /** Alert rules; can also be set later with `configureAlerts()`. */
  alerts?: AlertOptions;
  delivery?: DeliveryOptions;
  /** Period of the cluster view refresh (streams, consumers, nodes, leaders), ms. @default 2000 */
  refreshIntervalMs?: number;
  /** Period of alert evaluation on the leader, ms. @default 5000 */
  evaluationIntervalMs?: number;
  /** Window of the throughput and failure rates, ms. @default 60000 */
  rateWindowMs?: number;
  /**
   * How far back the events stream is read at start, ms, so rates, the
   * failed-jobs window and the dashboard's timeline are right from the first
   * evaluation. Reading costs time in proportion to the events it holds.
   * @default max(rateWindowMs, failedJobWindowMs, 10 minutes)
   */
  historyMs?: number;
}

export interface CompiledAlertOptions {
  failedJobThreshold?: number;
  failedJobWindowMs: number;
  workerDownThresholdMs?: number;
  queueSizeThreshold?: number;
  queueLatencyThresholdMs?: number;
  notificationEndpoint?: string;
}

export interface CompiledMonitorOptions {
  prefix: string;
  nodeId: string;
  refreshIntervalMs: number;
  evaluationIntervalMs: number;
  rateWindowMs: number;
  historyMs: number;
  delivery: Required<DeliveryOptions>;
}

function int(field: string, v: unknown, def: number, min: number): number;
function int(field: string, v: unknown, def: undefined, min: number): number | undefined;
function int(field: string, v: unknown, def: number | undefined, min: number): number | undefined {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw new ConfigError(field, `${String(v)} must be an integer >= ${min}`);
  return v;
}

export function compileAlertOptions(o: AlertOptions = {}): CompiledAlertOptions {
  let endpoint: string | undefined;
  if (o.notificationEndpoint !== undefined && o.notificationEndpoint !== '') {
    let url: URL;
    try {
      url = new URL(o.notificationEndpoint);
    } catch {
      throw new ConfigError('notificationEndpoint', 'is not a URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new ConfigError('notificationEndpoint', `must be http or https, not ${url.protocol}`);
    endpoint = url.toString();
  }
  return {
    failedJobThreshold: int('failedJobThreshold', o.failedJobThreshold, undefined, 0),
    failedJobWindowMs: int('failedJobWindowMs', o.failedJobWindowMs, 300_000, 1000),
    workerDownThresholdMs: int('workerDownThreshold', o.workerDownThreshold, undefined, 1),
    queueSizeThreshold: int('queueSizeThreshold', o.queueSizeThreshold, undefined, 0),
    queueLatencyThresholdMs: int(
      'queueLatencyThresholdMs',
      o.queueLatencyThresholdMs,
      undefined,
      1,
    ),
    notificationEndpoint: endpoint,
  };
}

export function compileMonitorOptions(o: JobMonitorOptions): CompiledMonitorOptions {
  const nodeId = o.nodeId ?? `${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9_-]/g, '_');
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(nodeId))
    throw new ConfigError('nodeId', `${JSON.stringify(nodeId)} must match [A-Za-z0-9_-]{1,128}`);
  const alerts = compileAlertOptions(o.alerts);
  const rateWindowMs = int('rateWindowMs', o.rateWindowMs, 60_000, 1000);
  const d = o.delivery ?? {};
  const retryBaseMs = int('delivery.retryBaseMs', d.retryBaseMs, 500, 1);
  const retryCapMs = int('delivery.retryCapMs', d.retryCapMs, 60_000, 1);
  if (retryCapMs < retryBaseMs)
    throw new ConfigError('delivery.retryCapMs', 'must be >= delivery.retryBaseMs');
  return {
    prefix: o.prefix ?? 'rfw',
    nodeId,
    refreshIntervalMs: int('refreshIntervalMs', o.refreshIntervalMs, 2000, 50),
    evaluationIntervalMs: int('evaluationIntervalMs', o.evaluationIntervalMs, 5000, 50),
    rateWindowMs,
    historyMs: int(
      'historyMs',
      o.historyMs,
      Math.max(rateWindowMs, alerts.failedJobWindowMs, 10 * 60_000),
      0,
    ),
    delivery: {
      timeoutMs: int('delivery.timeoutMs', d.timeoutMs, 5000, 1),
      retryBaseMs,
      retryCapMs,
      headers: d.headers ?? {},
    },
  };
}
