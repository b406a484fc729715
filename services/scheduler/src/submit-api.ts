/**
 * The job-submission API: NATS request/reply on `<prefix>.api.submit`, served
 * by every scheduler instance in one queue group, so a client in any language
 * gets `JobQueue`'s validation without linking it.
 *
 * Request:  `{ "type": "cleanup", "payload": {...}, "options": { "priority": "high", "delay": 60000 } }`
 * Reply:    `{ "ok": true, "id": "...", "duplicate": false }` (`duplicate`: an `id` or `unique` key
 *           whose job exists already; nothing was enqueued)
 *        or `{ "ok": false, "error": { "name": "JobValidationError", "field": "priority", "message": "..." } }`
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';
import {
  JobValidationError,
  encodeJson,
  type JobQueue,
  type Logger,
  type ScheduleOptions,
} from '@rfw/core/internal';
import type { SchedulerMetrics } from './metrics.js';

export interface SubmitRequest {
  type: string;
  payload: unknown;
  options?: Omit<ScheduleOptions, 'runAt'> & { runAt?: number | string };
}

export type SubmitReply =
  | { ok: true; id: string; duplicate: boolean }
  | { ok: false; error: { name: string; field?: string; message: string } };

const REQUEST_KEYS = new Set(['type', 'payload', 'options']);
const OPTION_KEYS = new Set([
  'priority',
  'delay',
  'runAt',
  'maxRetries',
  'timeout',
  'id',
  'unique',
]);

/** Turn a request body into `schedule()` arguments; throws `JobValidationError` naming the field. */
export function parseSubmitRequest(data: Uint8Array): {
  type: unknown;
  payload: unknown;
  options: ScheduleOptions;
} {
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch (err) {
    throw new JobValidationError('body', `not valid UTF-8 JSON: ${(err as Error).message}`);
  }
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new JobValidationError('body', 'must be a JSON object { type, payload, options }');
  for (const k of Object.keys(body))
    if (!REQUEST_KEYS.has(k)) throw new JobValidationError(k, 'unknown field');
  const req = body as Partial<SubmitRequest>;
  const raw = req.options ?? {};
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new JobValidationError('options', 'must be an object');
  for (const k of Object.keys(raw))
    if (!OPTION_KEYS.has(k)) throw new JobValidationError(`options.${k}`, 'unknown option');
  const options = { ...raw } as ScheduleOptions & { runAt?: unknown };
  if (typeof options.runAt === 'string') {
    const ms = Date.parse(options.runAt);
    if (Number.isNaN(ms))
      throw new JobValidationError('runAt', `${JSON.stringify(options.runAt)} is not a date`);
    options.runAt = ms;
  }
  return { type: req.type, payload: req.payload, options: options as ScheduleOptions };
}

function toReply(err: unknown): SubmitReply {
  const e = err as Error & { field?: unknown };
  return {
    ok: false,
    error: {
      name: e?.name ?? 'Error',
      ...(typeof e?.field === 'string' ? { field: e.field } : {}),
      message: e?.message ?? String(err),
    },
  };
}

export class SubmitApi {
  #sub?: Subscription;

  constructor(
    private readonly nc: NatsConnection,
    private readonly subject: string,
    private readonly queueGroup: string,
    private readonly queue: JobQueue,
    private readonly metrics: SchedulerMetrics,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.#sub = this.nc.subscribe(this.subject, {
      queue: this.queueGroup,
      callback: (_err, msg) => void this.#handle(msg),
    });
  }

  async #handle(msg: Msg): Promise<void> {
    let reply: SubmitReply;
    try {
      const { type, payload, options } = parseSubmitRequest(msg.data);
      const { id, duplicate } = await this.queue.enqueue(type as string, payload, options);
      reply = { ok: true, id, duplicate };
      this.metrics.submits.inc({ result: 'ok' });
    } catch (err) {
      reply = toReply(err);
      this.metrics.submits.inc({ result: reply.ok ? 'ok' : reply.error.name });
      if (!(err instanceof JobValidationError))
        this.log.warn({ err: (err as Error).message }, 'submission failed');
    }
    if (msg.reply) {
      try {
        msg.respond(encodeJson(reply));
      } catch {
        // The requester is gone or the connection is closing.
      }
    }
  }

  /** Stop answering (in-flight requests still get their reply). */
  async stop(): Promise<void> {
    if (this.#sub && !this.#sub.isClosed()) await this.#sub.drain().catch(() => undefined);
  }
}
