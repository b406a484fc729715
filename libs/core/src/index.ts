/**
 * @rfw/core: the producer client. `JobQueue` schedules, inspects, cancels and
 * retries jobs; the job model, its errors and the `Names` of every subject,
 * stream and bucket (for producers in other languages) come with it.
 *
 * What other packages of this repository need beyond this lives in
 * `@rfw/core/internal`, which has no semver promise.
 *
 * @example
 * ```ts
 * import { JobQueue } from '@rfw/core';
 * const queue = await JobQueue.connect();           // NATS_URL or nats://127.0.0.1:4222
 * const id = await queue.schedule('cleanup', { bucket: 'logs' }, { priority: 'low', delay: 60_000 });
 * const job = await queue.get(id);                  // state: 'delayed'
 * await queue.close();
 * ```
 */
export {
  Priority,
  PRIORITIES,
  JobState,
  JOB_STATES,
  TERMINAL_STATES,
  LIMITS,
  DEFAULTS,
} from './job.js';
export type {
  Job,
  JobBackoff,
  JobTransition,
  ChildFailurePolicy,
  ParentRef,
  FlowSummary,
  FlowState,
} from './job.js';
export { CHILD_FAILURE_POLICIES } from './job.js';
export type { FlowJob, FlowChild, FlowNode } from './flow-options.js';
export { MAX_FLOW_JOBS } from './flow-options.js';
export type { ChildEnding, ChildEndings } from './flow-state.js';
export {
  RfwError,
  JobValidationError,
  PayloadTooLargeError,
  JobNotFoundError,
  InvalidStateError,
  IllegalStateError,
  ConnectionLostError,
  QueueFullError,
  ProvisioningDriftError,
  ConfigError,
  UnsupportedServerError,
  JobFailedError,
  JobCancelledError,
  WaitTimeoutError,
  WaitAbortedError,
  ScheduleNotFoundError,
  ScheduleExistsError,
} from './errors.js';
export type { ErrorOptions } from './errors.js';
export { Names } from './names.js';
export { MIN_SERVER_VERSION, checkServerVersion } from './connection.js';
export type { JobEvent } from './wire.js';
export type { ConnectOptions } from './connection.js';
export type { ProvisionOptions, DriftPolicy } from './provision.js';
export { JobQueue } from './job-queue.js';
export type { JobQueueOptions, ScheduleRequest, ScheduleResult, Enqueued } from './job-queue.js';
export type { ScheduleOptions, UniqueOptions } from './schedule-options.js';
export type { WaitOptions } from './outcome-waiters.js';
export { Schedules, upcomingFireTimes } from './schedule-store.js';
export type { StoredSchedule, SchedulePatch } from './schedule-store.js';
export {
  MisfirePolicy,
  SCHEDULE_NAME_PATTERN,
  DEFAULT_MISFIRE_GRACE_MS,
  nextFireTime,
  nextFireTimes,
} from './periodic-schedule.js';
export type { Schedule, ScheduleDefinition } from './periodic-schedule.js';
export type { JobFilter, JobPage, QueueStats, Statistics } from './job-listing.js';
export type { DeadLetter, DeadLetterPage } from './dead-letters.js';
export type { Logger } from './logger.js';
