/**
 * @rfw/core: the job model, the wire format and the `JobQueue` client.
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
export type { Job, JobTransition } from './job.js';
export {
  RfwError,
  JobValidationError,
  PayloadTooLargeError,
  JobNotFoundError,
  InvalidStateError,
  ConnectionLostError,
  QueueFullError,
  ProvisioningDriftError,
  ConfigError,
  UnsupportedServerError,
} from './errors.js';
export { Names } from './names.js';
export { MIN_SERVER_VERSION, checkServerVersion } from './connection.js';
export {
  Hdr,
  WIRE_VERSION,
  decodeJobMessage,
  encodeJobHeaders,
  encodeRecord,
  decodeRecord,
  encodeJson,
  decodeJson,
  jobIdOf,
  readable,
} from './wire.js';
export type { JobEnvelope, DecodeResult, JobEvent, JobRecordWire } from './wire.js';
export { provisionCore, ensureStream, ensureBucket } from './provision.js';
export type { ProvisionOptions, DriftPolicy } from './provision.js';
export { RecordStore, addTransition, newRecord, isCasConflict } from './records.js';
export type { VersionedJob } from './records.js';
export { connectNats, defaultServers } from './connection.js';
export type { ConnectOptions } from './connection.js';
export { openContext, publishEvent } from './context.js';
export {
  publishOutcomeEvent,
  republishOutcome,
  outcomeEventId,
  terminalBySeq,
} from './outcome-events.js';
export type { CoreContext } from './context.js';
export { JobQueue } from './job-queue.js';
export type { JobQueueOptions, ScheduleRequest, ScheduleResult } from './job-queue.js';
export {
  compileSchedule,
  generateJobId,
  validateType,
  validatePriority,
  validateId,
  encodePayload,
} from './schedule-options.js';
export type { ScheduleOptions, CompiledJob } from './schedule-options.js';
export type { JobFilter, JobPage, QueueStats, Statistics } from './job-listing.js';
export { mapPublishError, JsCode } from './nats-errors.js';
export { createLogger } from './logger.js';
export type { Logger } from './logger.js';
export { startHttpEndpoints } from './http-endpoints.js';
export type { HttpEndpoints, HttpEndpointsOptions } from './http-endpoints.js';
export { NodeHeartbeatSchemaVersion, pausedKey, nodesBucketOptions } from './cluster-wire.js';
export type { NodeHeartbeat, PauseRecord } from './cluster-wire.js';
export { listDeadLetters, purgeDeadLetters, decodeDeadLetter } from './dead-letters.js';
export type { DeadLetter, DeadLetterPage } from './dead-letters.js';
export { bucketKeys } from './kv-keys.js';
