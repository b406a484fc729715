/**
 * The messages between the runner (parent) and the host of an isolated
 * handler (a worker thread or a child process), and how errors cross that
 * boundary: by name and fields, so that the parent can rebuild the errors
 * that steer a job (`NonRetryableError`, `RetryAfterError`, `DeferError`, an
 * open breaker) whatever module the handler imported their classes from.
 */
import type { ChildEndings, Job } from '@rfw/core';
import type { ProgressUpdate } from '../worker-context.js';

/** An error as it crosses the boundary. */
export interface WireError {
  /** `undefined` for a thrown value that is not an Error (`text` then holds it). */
  name?: string;
  message: string;
  stack?: string;
  /** `RetryAfterError` and `DeferError`. */
  delayMs?: number;
  /** `DeferError`. */
  reason?: string;
  /** Node and opossum error codes (`EOPENBREAKER` marks an open breaker). */
  code?: string;
  /** A thrown value that is not an Error, as the runner words it. */
  text?: string;
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** Parent to host. */
export type ToHost =
  | {
      t: 'start';
      module: string;
      job: Job;
      attempt: number;
      workerId: string;
    }
  | { t: 'abort'; kind: 'timeout' | 'cancelled' | 'shutdown'; message: string }
  /** A `ctx.guard()` call may run (`ok`), or its breaker refused it. */
  | { t: 'guard'; id: number; ok: true }
  | { t: 'guard'; id: number; ok: false; error: WireError }
  /** The answer to a `ctx.children()` call. */
  | { t: 'children'; id: number; ok: true; endings: ChildEndings }
  | { t: 'children'; id: number; ok: false; error: WireError };

/** Host to parent. */
export type FromHost =
  | { t: 'result'; value: unknown }
  | { t: 'error'; error: WireError }
  /** An uncaught exception or rejection outside the handler's promise: the host exits next. */
  | { t: 'crash'; error: WireError }
  | { t: 'progress'; update: ProgressUpdate }
  | { t: 'log'; level: LogLevel; obj: unknown; msg?: string }
  | { t: 'metric'; name: string; value: number }
  | { t: 'gauge'; name: string; value: number }
  | { t: 'heartbeat' }
  | { t: 'guard-start'; id: number; key: string }
  | { t: 'guard-end'; id: number; ok: boolean; error?: WireError }
  | { t: 'children'; id: number };

/** The runner's wording of a thrown value (as `errorText` in job-runner.ts). */
function textOf(err: unknown): string {
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}

export function toWireError(err: unknown): WireError {
  if (!(err instanceof Error)) return { message: textOf(err), text: textOf(err) };
  const e = err as Error & { delayMs?: unknown; reason?: unknown; code?: unknown };
  return {
    name: e.name,
    message: e.message,
    stack: e.stack,
    ...(typeof e.delayMs === 'number' ? { delayMs: e.delayMs } : {}),
    ...(typeof e.reason === 'string' ? { reason: e.reason } : {}),
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
  };
}
