/**
 * @rfw/service-scheduler: the scheduler as a library (the service is `main.ts`).
 *
 * @example
 * ```ts
 * import { Scheduler, parseSchedules } from '@rfw/service-scheduler';
 * const scheduler = await Scheduler.create({
 *   servers: 'nats://127.0.0.1:4222',
 *   schedules: parseSchedules([{ name: 'cleanup', everyMs: 60_000, type: 'cleanup', payload: {} }]),
 * });
 * await scheduler.start();   // one instance of many leads; all answer <prefix>.api.submit
 * ```
 */
export { Scheduler, SCHEDULER_ROLE } from './scheduler.js';
export type { SchedulerOptions, SchedulerState, SchedulerStatus } from './scheduler.js';
export {
  MisfirePolicy,
  SCHEDULE_NAME_PATTERN,
  DEFAULT_MISFIRE_GRACE_MS,
  nextFireTime,
  SchedulerEnv,
  loadSchedules,
  parseSchedules,
  parseSchedulerEnv,
} from './config.js';
export type { Schedule, ScheduleInput } from './config.js';
export { CronRunner, cronJobId, cronKey, planFires, ON_TIME_MS } from './cron-runner.js';
export type { CronState } from './cron-runner.js';
export { DelayedReleaser } from './delayed-releaser.js';
export { SubmitApi, parseSubmitRequest } from './submit-api.js';
export type { SubmitReply, SubmitRequest } from './submit-api.js';
export { SchedulerMetrics } from './metrics.js';
export { TimerHeap } from './timer-heap.js';
export { DueHeap } from './due-heap.js';
