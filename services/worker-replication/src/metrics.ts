/** Prometheus metrics of the replication service, registered on the worker's registry. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export class ReplicationMetrics {
  /** Bytes written to each target. */
  readonly bytes: Counter<'target'>;
  /** Per-target outcomes: copied, skipped-identical, skipped-newer, failed, deferred. */
  readonly objects: Counter<'target' | 'outcome'>;
  /** Failed copies by target and reason (unavailable, verification, source, other). */
  readonly failures: Counter<'target' | 'reason'>;
  /** Time to copy and verify one object to one target. */
  readonly copySeconds: Histogram<'target'>;
  /** Replication jobs known to be pending per target (from the backlog ledger). */
  readonly backlog: Gauge<'target'>;
  /** Replication jobs in the broker (waiting plus in flight), all targets. */
  readonly queueDepth: Gauge;
  /** Objects a resync examined. */
  readonly resyncScanned: Counter;
  /** Objects a resync copied itself to every target that lacked them. */
  readonly resyncCopied: Counter;
  /** Replication jobs a resync scheduled. */
  readonly resyncScheduled: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.bytes = new Counter({
      name: 'rfw_replication_bytes_total',
      help: 'Bytes replicated, per target node',
      labelNames: ['target'],
      registers,
    });
    this.objects = new Counter({
      name: 'rfw_replication_objects_total',
      help: 'Objects handled per target node, by outcome (copied, skipped-identical, skipped-newer, failed, deferred)',
      labelNames: ['target', 'outcome'],
      registers,
    });
    this.failures = new Counter({
      name: 'rfw_replication_failures_total',
      help: 'Failed object copies per target node, by reason (unavailable, verification, source, other)',
      labelNames: ['target', 'reason'],
      registers,
    });
    this.copySeconds = new Histogram({
      name: 'rfw_replication_copy_seconds',
      help: 'Time to stream and verify one object to one target',
      labelNames: ['target'],
      buckets: [0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.backlog = new Gauge({
      name: 'rfw_replication_backlog_jobs',
      help: 'Replication jobs pending per target node (fanned out by resync, or deferred/failed at least once for that target); the same cluster-wide value on every instance',
      labelNames: ['target'],
      registers,
    });
    this.queueDepth = new Gauge({
      name: 'rfw_replication_queue_depth',
      help: 'Replication jobs in the broker, waiting or in flight (all targets); the same cluster-wide value on every instance',
      registers,
    });
    this.resyncScanned = new Counter({
      name: 'rfw_replication_resync_scanned_total',
      help: 'Objects examined by resync jobs',
      registers,
    });
    this.resyncCopied = new Counter({
      name: 'rfw_replication_resync_copied_total',
      help: 'Objects resync jobs copied themselves to every target that lacked them',
      registers,
    });
    this.resyncScheduled = new Counter({
      name: 'rfw_replication_resync_scheduled_total',
      help: 'Replication jobs scheduled by resync jobs',
      registers,
    });
  }
}
