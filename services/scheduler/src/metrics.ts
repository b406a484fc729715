/** prom-client metrics of one scheduler instance, in its own registry. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class SchedulerMetrics {
  readonly registry = new Registry();
  readonly isLeader: Gauge;
  readonly delayedPending: Gauge;
  readonly released: Counter<'type'>;
  readonly releaseFailures: Counter;
  readonly skipped: Counter<'reason'>;
  readonly lateness: Histogram;
  readonly cronFires: Counter<'schedule'>;
  readonly cronMisfires: Counter<'schedule'>;
  readonly cronErrors: Counter<'schedule'>;
  readonly submits: Counter<'result'>;

  constructor(defaultLabels: Record<string, string> = {}) {
    this.registry.setDefaultLabels(defaultLabels);
    collectDefaultMetrics({ register: this.registry, prefix: 'rfw_process_' });
    const registers = [this.registry];
    this.isLeader = new Gauge({
      name: 'rfw_scheduler_is_leader',
      help: '1 while this instance leads the scheduler role',
      registers,
    });
    this.delayedPending = new Gauge({
      name: 'rfw_scheduler_delayed_pending',
      help: 'Delayed jobs waiting in the leader timer heap',
      registers,
    });
    this.released = new Counter({
      name: 'rfw_scheduler_delayed_released_total',
      help: 'Delayed jobs released to the jobs stream',
      labelNames: ['type'],
      registers,
    });
    this.releaseFailures = new Counter({
      name: 'rfw_scheduler_release_failures_total',
      help: 'Release attempts that failed and were retried',
      registers,
    });
    this.skipped = new Counter({
      name: 'rfw_scheduler_delayed_skipped_total',
      help: 'Delayed messages dropped without release (cancelled, already released, invalid)',
      labelNames: ['reason'],
      registers,
    });
    this.lateness = new Histogram({
      name: 'rfw_scheduler_release_lateness_seconds',
      help: 'Time from a delayed job being due to its release',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 120],
      registers,
    });
    this.cronFires = new Counter({
      name: 'rfw_scheduler_cron_fires_total',
      help: 'Periodic jobs fired',
      labelNames: ['schedule'],
      registers,
    });
    this.cronMisfires = new Counter({
      name: 'rfw_scheduler_cron_misfires_total',
      help: 'Fire times skipped by the misfire policy',
      labelNames: ['schedule'],
      registers,
    });
    this.cronErrors = new Counter({
      name: 'rfw_scheduler_cron_errors_total',
      help: 'Fires that could not enqueue their job',
      labelNames: ['schedule'],
      registers,
    });
    this.submits = new Counter({
      name: 'rfw_scheduler_submit_total',
      help: 'Submission API requests by result',
      labelNames: ['result'],
      registers,
    });
  }
}
