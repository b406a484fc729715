/**
 * @rfw/core/internal: what the other packages of this repository need beyond
 * the public entry point (wire codecs, record store, provisioning, service
 * plumbing). No semver promise: it changes with the packages that use it.
 * Everything of `@rfw/core` is re-exported here too.
 */
// The curated public entry, whole: one import serves a sibling package.
export * from './index.js';
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
  copyHeaders,
  readable,
} from './wire.js';
export type { JobEnvelope, DecodeResult, JobRecordWire } from './wire.js';
export {
  TraceAttr,
  SpanKind,
  SpanStatusCode,
  carriedTrace,
  contextFromCarried,
  contextFromHeaders,
  failSpan,
  injectSpan,
  linkFromHeaders,
  otelContext,
  otelTrace,
  startSpan,
} from './tracing.js';
export type { CarriedTrace, TraceContext, Span } from './tracing.js';
export { provisionCore, ensureStream, ensureBucket } from './provision.js';
export { RecordStore, addTransition, newRecord, isCasConflict } from './records.js';
export type { VersionedJob } from './records.js';
export { connectNats, defaultServers } from './connection.js';
export { openContext, publishEvent } from './context.js';
export type { CoreContext } from './context.js';
export {
  publishOutcomeEvent,
  republishOutcome,
  outcomeEventId,
  terminalBySeq,
} from './outcome-events.js';
export {
  compileSchedule,
  generateJobId,
  validateType,
  validatePriority,
  validateId,
  encodePayload,
} from './schedule-options.js';
export type { CompiledJob } from './schedule-options.js';
export { mapPublishError, JsCode } from './nats-errors.js';
export { createLogger } from './logger.js';
export { startHttpEndpoints } from './http-endpoints.js';
export type { HttpEndpoints, HttpEndpointsOptions } from './http-endpoints.js';
export { NodeHeartbeatSchemaVersion, pausedKey, nodesBucketOptions } from './cluster-wire.js';
export type { NodeHeartbeat, PauseRecord } from './cluster-wire.js';
export { listDeadLetters, purgeDeadLetters, decodeDeadLetter } from './dead-letters.js';
export { bucketKeys } from './kv-keys.js';
export { hasBatchDirectGet, MAX_BATCH, readQueueCoverage } from './batch-reads.js';
export { forgetDecodedHeaders } from './nats-client-patches.js';
export { recordChildEnding, readChildEndings, settleParent, sortEndings } from './flow-state.js';
export { parseSchedule, type FieldErrorFactory } from './periodic-schedule.js';
export { SCHEDULE_KEYS, decodeStoredSchedule, scheduleKey } from './schedule-store.js';
