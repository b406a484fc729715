/**
 * Exit codes of `rfw` and the errors that carry them. Every failure leaves the
 * CLI through `exitCodeOf()`, so scripts can tell a usage mistake from a failed
 * operation from an unreachable broker.
 */
import {
  ConfigError,
  ConnectionLostError,
  InvalidStateError,
  JobNotFoundError,
  JobValidationError,
  PayloadTooLargeError,
} from '@rfw/core';
import {
  ClosedConnectionError,
  ConnectionError,
  DrainingConnectionError,
  TimeoutError,
} from '@nats-io/nats-core';

export const ExitCode = {
  /** The command did what was asked. */
  Ok: 0,
  /** The operation failed: a job ended dead or cancelled, not found, wrong state, no responder. */
  Failed: 1,
  /** Bad arguments or flags: nothing was done. */
  Usage: 2,
  /** NATS could not be reached (or the connection was lost for good). */
  Unreachable: 3,
  /** Stopped by Ctrl-C (128 + SIGINT, as shells report it); a followed job goes on. */
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A mistake in how the CLI was called; the message names the flag or argument. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The operation was carried out (or tried) and failed; exit code 1. */
export class OperationFailedError extends Error {
  constructor(
    message: string,
    /** What `--json` prints beside the message (the job, for instance). */
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'OperationFailedError';
  }
}

/** NATS cannot be reached at the resolved URL; exit code 3. */
export class UnreachableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnreachableError';
  }
}

/** Library field names (from `JobValidationError.field`) as the flags a user typed. */
const FIELD_FLAGS: Record<string, string> = {
  type: '<type>',
  id: '--id',
  priority: '--priority',
  delay: '--delay',
  runAt: '--run-at',
  maxRetries: '--max-retries',
  timeout: '--timeout',
  payload: '<payload>',
  'payload.size': '<payload>',
  status: '--status',
  limit: '--limit',
  cursor: '--cursor',
  prefix: '--prefix',
};

/** The flag (or argument) a library field name stands for. */
export function flagOf(field: string): string {
  return FIELD_FLAGS[field] ?? field;
}

/** `JobQueue.schedules`' field names (`JobValidationError.field`) as the flags of `rfw schedules`. */
export const SCHEDULE_FIELD_FLAGS: Readonly<Record<string, string>> = {
  name: '<name>',
  type: '--type',
  cron: '--cron',
  everyMs: '--every',
  timezone: '--tz',
  payload: '--payload',
  priority: '--priority',
  maxRetries: '--max-retries',
  timeout: '--timeout',
  misfire: '--misfire',
  misfireGraceMs: '--misfire-grace',
  count: '--count',
  after: '--after',
};

/**
 * `err` with its field named as a command's flag: a `JobValidationError` whose
 * field `flags` knows becomes one naming that flag (the original as its cause);
 * any other error, or field, is returned as is (`classify()` then names it by
 * `flagOf()`).
 */
export function withFlagNames(err: unknown, flags: Readonly<Record<string, string>>): unknown {
  if (!(err instanceof JobValidationError)) return err;
  return new JobValidationError(flags[err.field] ?? err.field, err.reason, { cause: err });
}

/** Exit code and one-line message of any error the CLI may meet. */
export function classify(err: unknown): { code: ExitCode; message: string; field?: string } {
  if (err instanceof UsageError) return { code: ExitCode.Usage, message: err.message };
  if (err instanceof JobValidationError || err instanceof ConfigError) {
    const flag = flagOf(err.field);
    return {
      code: ExitCode.Usage,
      message: `invalid ${flag}: ${err.reason}`,
      field: flag,
    };
  }
  if (err instanceof PayloadTooLargeError) {
    return {
      code: ExitCode.Usage,
      message: `invalid <payload>: ${err.message}`,
      field: '<payload>',
    };
  }
  if (err instanceof UnreachableError) return { code: ExitCode.Unreachable, message: err.message };
  if (
    err instanceof ConnectionError ||
    err instanceof ConnectionLostError ||
    err instanceof ClosedConnectionError ||
    err instanceof DrainingConnectionError
  ) {
    return { code: ExitCode.Unreachable, message: `lost the connection to NATS: ${err.message}` };
  }
  if (err instanceof TimeoutError) {
    return { code: ExitCode.Unreachable, message: 'NATS did not answer in time' };
  }
  if (
    err instanceof JobNotFoundError ||
    err instanceof InvalidStateError ||
    err instanceof OperationFailedError
  ) {
    return { code: ExitCode.Failed, message: err.message };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: ExitCode.Failed, message };
}
