/**
 * Argument parsers for commander options. Each throws commander's
 * `InvalidArgumentError`, which commander reports naming the flag
 * ("option '--limit <n>' argument 'x' is invalid. ...") with exit code 2.
 */
import { InvalidArgumentError } from 'commander';
import {
  JOB_STATES,
  JobValidationError,
  PRIORITIES,
  validateId,
  validateType,
  type JobState,
  type Priority,
} from '@rfw/core/internal';

export function intArg(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError('not an integer.');
    const n = Number(value);
    if (n < min || n > max) {
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER
          ? `must be at least ${min}.`
          : `must be in [${min}, ${max}].`,
      );
    }
    return n;
  };
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Milliseconds from `1500`, `1500ms`, `30s`, `5m`, `2h`, `1d` or `1m30s`. */
export function parseDuration(value: string): number {
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
  let total = 0;
  let consumed = 0;
  for (const m of v.matchAll(re)) {
    if (m.index !== consumed) break;
    total += Number(m[1]) * (DURATION_UNITS[m[2] as string] ?? 0);
    consumed += m[0].length;
  }
  if (consumed === 0 || consumed !== v.length) {
    throw new InvalidArgumentError('not a duration (e.g. 1500, 30s, 5m, 1h30m).');
  }
  return Math.round(total);
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** Bytes from `1024`, `10KB`, `1.5MiB`, `2G`. */
export function parseSize(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(value.trim());
  const unit = SIZE_UNITS[(m?.[2] ?? '').toLowerCase()];
  if (!m || unit === undefined)
    throw new InvalidArgumentError('not a size (e.g. 1024, 10KB, 1.5MiB).');
  return Math.round(Number(m[1]) * unit);
}

/**
 * A point in time as ms since the epoch, from an ISO date (`2024-05-01`,
 * `2024-05-01T10:00:00Z`), epoch ms, or an age back from now (`7d`, `2h`).
 */
export function parseTime(value: string, now = Date.now()): number {
  const v = value.trim();
  if (/^\d{10,}$/.test(v)) return Number(v);
  if (/^\d+(?:\.\d+)?(ms|s|m|h|d)/.test(v) && !/^\d{4}-/.test(v)) return now - parseDuration(v);
  const t = Date.parse(v);
  if (Number.isNaN(t)) {
    throw new InvalidArgumentError(
      'not a time (ISO date like 2024-05-01T10:00:00Z, epoch ms, or an age like 7d).',
    );
  }
  return t;
}

export function priorityArg(value: string): Priority {
  if (!(PRIORITIES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`must be one of ${PRIORITIES.join(', ')}.`);
  }
  return value as Priority;
}

export function stateArg(value: string): JobState | 'failed' {
  if (value !== 'failed' && !(JOB_STATES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`must be one of ${JOB_STATES.join(', ')}, failed.`);
  }
  return value as JobState | 'failed';
}

/** Event states `tail --state` accepts: job states plus `progress` and `deferred`. */
export function eventStateArg(value: string): string {
  if (value === 'progress' || value === 'deferred') return value;
  if (!(JOB_STATES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`must be one of ${JOB_STATES.join(', ')}, progress, deferred.`);
  }
  return value;
}

/** A subject token: no dots, spaces or wildcards. */
export function tokenArg(value: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(value)) {
    throw new InvalidArgumentError('only letters, digits, "-" and "_" are allowed.');
  }
  return value;
}

/** Repeatable `key=value`, collected into a record. */
export function keyValueArg(
  value: string,
  previous: Record<string, string> = {},
): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('expected key=value.');
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

export function nonEmptyArg(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('must not be empty.');
  return value;
}

/** A job type name, checked as `schedule()` checks it. */
export function typeArg(value: string): string {
  return viaCore(() => validateType(value));
}

/** A job id, checked as `get()` checks it. */
export function idArg(value: string): string {
  return viaCore(() => validateId(value));
}

function viaCore<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof JobValidationError) throw new InvalidArgumentError(`${err.reason}.`);
    throw err;
  }
}
