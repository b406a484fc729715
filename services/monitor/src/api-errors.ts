/**
 * How the admin API answers errors: every failure becomes
 * `{ error, message, field? }` with the status its kind deserves. Input
 * errors name the offending field.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorObject } from 'ajv';
import {
  ConnectionLostError,
  InvalidStateError,
  JobNotFoundError,
  ScheduleExistsError,
  ScheduleNotFoundError,
  JobValidationError,
  PayloadTooLargeError,
  QueueFullError,
} from '@rfw/core';

export interface ApiErrorBody {
  /** Machine-readable code. */
  error: string;
  message: string;
  /** The offending field, on 400 answers. */
  field?: string;
}

/** An error with an HTTP status, raised by the API's own handlers. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** The field an Ajv error is about, as a dotted path (`limit`, `payload.size`). */
export function ajvField(e: ErrorObject): string {
  const path = e.instancePath
    .split('/')
    .filter(Boolean)
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'required' && typeof params.missingProperty === 'string')
    path.push(params.missingProperty);
  if (e.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string')
    path.push(params.additionalProperty);
  return path.join('.');
}

function ajvMessage(e: ErrorObject, field: string, where: string): string {
  if (e.keyword === 'required') return `${field} is required in the ${where}`;
  if (e.keyword === 'additionalProperties') return `${field} is not a known ${where} field`;
  if (e.keyword === 'enum') {
    const allowed = (e.params as { allowedValues?: unknown[] }).allowedValues ?? [];
    return `${field} must be one of ${allowed.map(String).join(', ')}`;
  }
  return `${field || where} ${e.message ?? 'is invalid'}`;
}

const WHERE: Record<string, string> = {
  body: 'body',
  querystring: 'query',
  params: 'path',
  headers: 'headers',
};

export function toErrorBody(err: unknown): { status: number; body: ApiErrorBody } {
  const fe = err as FastifyError & { validationContext?: string };
  if (Array.isArray(fe.validation) && fe.validation.length > 0) {
    const e = fe.validation[0] as unknown as ErrorObject;
    const field = ajvField(e);
    const where = WHERE[fe.validationContext ?? ''] ?? 'request';
    return {
      status: 400,
      body: { error: 'bad_request', message: ajvMessage(e, field, where), field: field || where },
    };
  }
  if (err instanceof HttpError)
    return {
      status: err.statusCode,
      body: { error: err.code, message: err.message, field: err.field },
    };
  if (err instanceof JobValidationError)
    return { status: 400, body: { error: 'bad_request', message: err.message, field: err.field } };
  if (err instanceof PayloadTooLargeError)
    return {
      status: 413,
      body: { error: 'payload_too_large', message: err.message, field: err.field },
    };
  if (err instanceof JobNotFoundError)
    return { status: 404, body: { error: 'not_found', message: err.message } };
  if (err instanceof ScheduleNotFoundError)
    return { status: 404, body: { error: 'not_found', message: err.message, field: 'name' } };
  if (err instanceof ScheduleExistsError)
    return { status: 409, body: { error: 'schedule_exists', message: err.message, field: 'name' } };
  if (err instanceof InvalidStateError)
    return { status: 409, body: { error: 'invalid_state', message: err.message } };
  if (err instanceof QueueFullError)
    return { status: 503, body: { error: 'queue_full', message: err.message } };
  if (err instanceof ConnectionLostError)
    return { status: 503, body: { error: 'unavailable', message: err.message } };
  // Fastify's own client errors (bad JSON, wrong content type, body too large).
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const field = fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'content-type' : 'body';
    return {
      status: fe.statusCode,
      body: { error: 'bad_request', message: fe.message, field },
    };
  }
  return { status: 500, body: { error: 'internal', message: (err as Error)?.message ?? 'error' } };
}

export function errorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): void {
  const { status, body } = toErrorBody(err);
  if (status >= 500 && !(err instanceof HttpError))
    req.log.error({ err, url: req.url }, 'admin API request failed');
  if (status === 503) void reply.header('retry-after', '5');
  void reply.code(status).send(body);
}

/** Largest unread body still read to its end so that the client gets its answer. */
const DRAIN_LIMIT = 32 * 1024 * 1024;

/**
 * An answer sent before the request body was read (413 for a body too large,
 * 404 for an unknown route, 401...) leaves the client still sending it. Fastify
 * marks such answers `connection: close`, and closing a socket with unread
 * bytes resets it, so the client sees a reset connection instead of the answer
 * (intermittently: it depends on who is faster). Keep the connection and read
 * (and drop) the rest, up to DRAIN_LIMIT bytes (then cut it off). Used as an
 * `onSend` hook.
 */
export function readRestOfBody(req: FastifyRequest, reply: FastifyReply): void {
  const raw = req.raw;
  if (raw.complete || raw.destroyed) return;
  void reply.removeHeader('connection');
  let read = 0;
  raw.on('data', (chunk: Buffer) => {
    read += chunk.length;
    if (read > DRAIN_LIMIT) raw.destroy();
  });
  raw.resume();
}
