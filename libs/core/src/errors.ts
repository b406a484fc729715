/**
 * One error class per failure kind. Each sets `name`, accepts `{ cause }` and
 * carries the offending field or id.
 */

import type { Job } from './job.js';

/** Options every error of this project accepts. */
export interface ErrorOptions {
  /** The error that led to this one. */
  cause?: unknown;
}

/** Base class of every error this project throws on purpose. */
export class RfwError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A `schedule()` argument or an option is invalid; nothing was enqueued. */
export class JobValidationError extends RfwError {
  constructor(
    /** The offending field, e.g. `priority`, `delay`, `payload.size`. */
    readonly field: string,
    /** What is wrong with it, e.g. `must be an integer in [1, 1000]`. */
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`invalid ${field}: ${reason}`, options);
  }
}

/** The encoded job is larger than the server's `max_payload`; nothing was enqueued. */
export class PayloadTooLargeError extends RfwError {
  constructor(
    /** The encoded payload's size in bytes; -1 when the server refused the message. */
    readonly size: number,
    /**
     * The largest payload accepted, in bytes: the server's `max_payload` less
     * 512 bytes kept for headers and subject; -1 when the server refused the message.
     */
    readonly maxPayload: number,
    /** The offending field, as in `JobValidationError.field`. @default 'payload' */
    readonly field = 'payload',
  ) {
    super(`payload too large: ${size} bytes, server max_payload is ${maxPayload}`);
  }
}

/** No job record has this id (it never existed, or it was purged). */
export class JobNotFoundError extends RfwError {
  constructor(
    /** The id that was looked up. */
    readonly jobId: string,
  ) {
    super(`job not found: ${jobId}`);
  }
}

/** No stored periodic schedule has that name. */
export class ScheduleNotFoundError extends RfwError {
  constructor(
    /** The schedule name that was looked up. */
    readonly scheduleName: string,
  ) {
    super(`schedule not found: ${scheduleName}`);
  }
}

/** A stored periodic schedule of that name exists already: `update()` it, or `remove()` it first. */
export class ScheduleExistsError extends RfwError {
  constructor(
    /** The name that is taken. */
    readonly scheduleName: string,
  ) {
    super(`schedule exists: ${scheduleName}`);
  }
}

/** The operation does not apply to the job's current state. */
export class InvalidStateError extends RfwError {
  constructor(
    /** The job the operation was refused for. */
    readonly jobId: string,
    /** The job's state at the time, e.g. `succeeded`. */
    readonly state: string,
    /** The refused operation, e.g. `cancel` or `retry`. */
    readonly operation: string,
  ) {
    super(`cannot ${operation} job ${jobId}: it is ${state}`);
  }
}

/** The NATS connection is closed or the server did not answer in time. */
export class ConnectionLostError extends RfwError {
  constructor(message = 'connection to NATS lost', options?: ErrorOptions) {
    super(message, options);
  }
}

/** The stream refused the job because it is full (backpressure). */
export class QueueFullError extends RfwError {
  constructor(
    /** The subject the refused publish went to, e.g. `rfw.jobs.<type>.<priority>`. */
    readonly subject: string,
    options?: ErrorOptions,
  ) {
    super(`queue full: ${subject} rejected the job (stream limits reached)`, options);
  }
}

/** Existing JetStream resources differ from what this version expects. */
export class ProvisioningDriftError extends RfwError {
  constructor(
    /** The resource that differs, e.g. `stream rfw_jobs` or `stream KV_rfw_jobs`. */
    readonly resource: string,
    /**
     * The stream config field that differs, e.g. `max_age`: an immutable one
     * (`retention`, `storage`) when any differs, else the first.
     */
    readonly field: string,
    /** The value this version wants. */
    readonly expected: unknown,
    /** The value the server has. */
    readonly actual: unknown,
  ) {
    super(
      `${resource}: field ${field} is ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`,
    );
  }
}

/** A configuration value is invalid. */
export class ConfigError extends RfwError {
  constructor(
    /** The offending setting, e.g. `prefix`, `workerId`, `backoff`. */
    readonly field: string,
    /** What is wrong with it. */
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`invalid config ${field}: ${reason}`, options);
  }
}

/** The NATS server is older than the oldest version this project supports (2.10). */
export class UnsupportedServerError extends RfwError {
  constructor(
    /** The server's version, as it reports it (`2.9.10`). */
    readonly version: string,
    /** The oldest supported version. */
    readonly minimum: string,
    /** The server connected to, as the connection names it (`host:port`). */
    readonly server: string,
  ) {
    super(
      `nats-server ${version} at ${server} is not supported: rustfs-workers needs nats-server ${minimum} or newer`,
    );
  }
}

/**
 * A lifecycle method was called in a state that does not allow it, e.g.
 * `start()` twice, `register()` after `start()`, `join()` after `leave()`.
 * A programming error: fix the call order rather than retrying.
 */
export class IllegalStateError extends RfwError {
  constructor(
    /** The object whose lifecycle was violated, e.g. `WorkerManager`. */
    readonly component: string,
    /** The call or transition that was refused, e.g. `start()` or `running -> created`. */
    readonly operation: string,
    /** The state the object was in. */
    readonly state: string,
  ) {
    super(`${component}: ${operation} is not allowed in state ${state}`);
  }
}

/** A job waited for (`waitFor`, `scheduleAndWait`) ended `dead`. */
export class JobFailedError extends RfwError {
  constructor(
    /** The job that died. */
    readonly jobId: string,
    /** Why it died (its record's `deadReason`). */
    readonly reason: string,
    /** Its last error, if any. */
    readonly lastError: string | undefined,
    /** Its record at the end. */
    readonly job: Job,
  ) {
    super(`job ${jobId} died: ${reason}${lastError ? ` (last error: ${lastError})` : ''}`);
  }
}

/** A job waited for (`waitFor`, `scheduleAndWait`) was cancelled. */
export class JobCancelledError extends RfwError {
  constructor(
    /** The cancelled job. */
    readonly jobId: string,
    /** Its record at the end. */
    readonly job: Job,
  ) {
    super(`job ${jobId} was cancelled`);
  }
}

/** A wait for a job's outcome ran out of time; the job itself goes on. */
export class WaitTimeoutError extends RfwError {
  constructor(
    /** The job waited for. */
    readonly jobId: string,
    /** The timeout that ran out, ms. */
    readonly timeoutMs: number,
  ) {
    super(`no outcome for job ${jobId} within ${timeoutMs} ms (the job goes on)`);
  }
}

/** A wait for a job's outcome was aborted by its `signal`; the job itself goes on. */
export class WaitAbortedError extends RfwError {
  constructor(
    /** The job waited for. */
    readonly jobId: string,
    options?: ErrorOptions,
  ) {
    super(`wait for job ${jobId} aborted (the job goes on)`, options);
  }
}
