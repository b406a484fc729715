/** prom-client metrics of one worker instance, in its own registry. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Buckets of the queue-time and run-time histograms, seconds: 1 ms to 1 hour. */
const LATENCY_BUCKETS = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300, 900, 3600,
];

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
  /**
   * Time in queue of first deliveries: from the job message's store time (or
   * its run-at, for a delayed job released late) to the moment this instance
   * takes it to run.
   */
  readonly queueTime: Histogram<'type' | 'priority'>;
  /** Run time of attempts whose handler ran: from taking the job to the handler settling. */
  readonly runTime: Histogram<'type' | 'priority'>;
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
    this.queueTime = new Histogram({
      name: 'rfw_job_queue_time_seconds',
      help: 'Time in queue, from the job message stored (or due, for a delayed job) to its first attempt starting',
      labelNames: ['type', 'priority'],
      buckets: LATENCY_BUCKETS,
      registers: r,
    });
    this.runTime = new Histogram({
      name: 'rfw_job_run_time_seconds',
      help: 'Attempt run time by priority, from taking the job to its handler settling',
      labelNames: ['type', 'priority'],
      buckets: LATENCY_BUCKETS,
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
