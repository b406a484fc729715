/**
 * @rfw/service-monitor: the cluster monitor. Metrics for Prometheus, alerts
 * to a webhook (sent by the monitor leader only), the admin HTTP API and the
 * live dashboard.
 *
 * @example
 * ```ts
 * import { JobMonitor, startAdminApi } from '@rfw/service-monitor';
 *
 * const monitor = await JobMonitor.create({ servers: 'nats://127.0.0.1:4222' });
 * monitor.configureAlerts({
 *   failedJobThreshold: 10,
 *   workerDownThreshold: 60_000,
 *   queueSizeThreshold: 10_000,
 *   notificationEndpoint: 'https://hooks.example.com/rfw',
 * });
 * await monitor.startMonitoring();
 * const api = await startAdminApi({ monitor, port: 8080, token: process.env.ADMIN_TOKEN });
 * console.log(await monitor.getMetrics());
 * // ... later
 * await api.close();
 * await monitor.stop();
 * ```
 */
export { JobMonitor } from './job-monitor.js';
export type { MonitorState } from './job-monitor.js';
export { compileAlertOptions, compileMonitorOptions } from './monitor-options.js';
export type {
  AlertOptions,
  DeliveryOptions,
  JobMonitorOptions,
  LeaderElector,
  CompiledAlertOptions,
  CompiledMonitorOptions,
} from './monitor-options.js';
export { AlertManager } from './alerts.js';
export type { AlertRecord } from './alerts.js';
export { AlertKind, evaluateRules } from './alert-rules.js';
export type { AlertCondition, Severity } from './alert-rules.js';
export { postNotification, WebhookDeliveryError } from './webhook.js';
export type { AlertPayload } from './webhook.js';
export { ClusterMetrics } from './cluster-metrics.js';
export {
  deriveMetrics,
  oldestWaitingMs,
  readNodes,
  readLeaders,
  readQueueLatency,
} from './cluster-view.js';
export type {
  ClusterSnapshot,
  JobMetrics,
  LeaderView,
  MonitorMetrics,
  NodeView,
  QueueLatency,
} from './cluster-view.js';
export { EventTracker } from './event-tracker.js';
export { RunTimes } from './run-times.js';
export type { RunTimeStats } from './run-times.js';
export type { Sweep, TrackedEvent } from './event-tracker.js';
export { RollingCounts } from './rolling-counts.js';
export { startAdminApi } from './admin-api.js';
export type { AdminApi, AdminApiOptions } from './admin-api.js';
export { EventStreamHub } from './events-stream.js';
export type { EventStreamOptions } from './events-stream.js';
export { buildOverview } from './overview.js';
export type { Overview, QueueRow, AlertView } from './overview.js';
export { HttpError } from './api-errors.js';
export type { ApiErrorBody } from './api-errors.js';
export { isLoopback, checkExposure } from './auth.js';
export { runMonitorService, parseMonitorEnv, MonitorEnv } from './service.js';
export type { MonitorService } from './service.js';
