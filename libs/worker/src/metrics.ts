/** prom-client metrics of one worker instance, in its own registry. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class WorkerMetrics {
  readonly registry = new Registry();
  readonly started: Counter<'type'>;
  readonly succeeded: Counter<'type'>;
  readonly failed: Counter<'type'>;
  readonly retried: Counter<'type'>;
  readonly dead: Counter<'type' | 'reason'>;
  readonly cancelled: Counter<'type'>;
  readonly deferred: Counter<'type' | 'reason'>;
  readonly duration: Histogram<'type' | 'outcome'>;
  readonly inFlight: Gauge<'type'>;
  readonly breakerState: Gauge<'type' | 'key'>;
  readonly custom: Counter<'type' | 'name'>;
  readonly customGauge: Gauge<'type' | 'name'>;

  constructor(defaultLabels: Record<string, string> = {}, withDefaults = true) {
    this.registry.setDefaultLabels(defaultLabels);
    if (withDefaults) collectDefaultMetrics({ register: this.registry, prefix: 'rfw_process_' });
    const r = [this.registry];
    this.started = new Counter({
      name: 'rfw_jobs_started_total',
      help: 'Attempts started',
      labelNames: ['type'],
      registers: r,
    });
    this.succeeded = new Counter({
      name: 'rfw_jobs_succeeded_total',
      help: 'Jobs succeeded',
      labelNames: ['type'],
      registers: r,
    });
    this.failed = new Counter({
      name: 'rfw_jobs_failed_total',
      help: 'Attempts failed',
      labelNames: ['type'],
      registers: r,
    });
    this.retried = new Counter({
      name: 'rfw_jobs_retried_total',
      help: 'Retries scheduled',
      labelNames: ['type'],
      registers: r,
    });
    this.dead = new Counter({
      name: 'rfw_jobs_dead_total',
      help: 'Jobs dead-lettered',
      labelNames: ['type', 'reason'],
      registers: r,
    });
    this.cancelled = new Counter({
      name: 'rfw_jobs_cancelled_total',
      help: 'Running jobs cancelled',
      labelNames: ['type'],
      registers: r,
    });
    this.deferred = new Counter({
      name: 'rfw_jobs_deferred_total',
      help: 'Jobs put back without using an attempt',
      labelNames: ['type', 'reason'],
      registers: r,
    });
    this.duration = new Histogram({
      name: 'rfw_job_duration_seconds',
      help: 'Attempt duration',
      labelNames: ['type', 'outcome'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
      registers: r,
    });
    this.inFlight = new Gauge({
      name: 'rfw_jobs_in_flight',
      help: 'Attempts running now',
      labelNames: ['type'],
      registers: r,
    });
    this.breakerState = new Gauge({
      name: 'rfw_breaker_state',
      help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open',
      labelNames: ['type', 'key'],
      registers: r,
    });
    this.custom = new Counter({
      name: 'rfw_worker_metric_total',
      help: 'Counters reported by handlers through ctx.updateMetrics()',
      labelNames: ['type', 'name'],
      registers: r,
    });
    this.customGauge = new Gauge({
      name: 'rfw_worker_gauge',
      help: 'Gauges reported by handlers through ctx.setGauge()',
      labelNames: ['type', 'name'],
      registers: r,
    });
  }
}
