/**
 * Wire types of `<prefix>.api.search` and `<prefix>.api.usage`: request
 * validation, the opaque pagination cursor and the error reply.
 */
import { z } from 'zod';
import { tokenize, type SearchQuery, type UsageQuery } from './index-types.js';

/** Page size of a search when the request does not say. */
export const DEFAULT_SEARCH_LIMIT = 100;
/** Largest page a search returns. */
export const MAX_SEARCH_LIMIT = 1000;

/** A time: ms since the epoch, or an ISO-8601 date-time string. */
const instant = z.union([
  z.number().int().nonnegative(),
  z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
]);

/** The search request, as sent on `<prefix>.api.search`. */
export const SearchRequest = z
  .strictObject({
    bucket: z.string().min(1).max(63).optional(),
    prefix: z.string().max(1024).optional(),
    /** Words; each must start a word of the key or of a metadata value (case-insensitive). */
    text: z.string().max(512).optional(),
    /** Exact values; names are case-insensitive (stored lower-cased). */
    metadata: z.record(z.string().min(1).max(128), z.string().max(1024)).optional(),
    minSize: z.number().int().nonnegative().optional(),
    maxSize: z.number().int().nonnegative().optional(),
    /** Only objects modified strictly after this. */
    modifiedAfter: instant.optional(),
    /** Only objects modified strictly before this. */
    modifiedBefore: instant.optional(),
    limit: z.number().int().min(1).max(MAX_SEARCH_LIMIT).default(DEFAULT_SEARCH_LIMIT),
    /** `nextCursor` of the previous page (same query). */
    cursor: z.string().min(1).max(4096).optional(),
  })
  .superRefine((r, ctx) => {
    if (r.text !== undefined && tokenize(r.text).length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['text'],
        message: 'has no letters or digits to search for',
      });
    }
    if (r.minSize !== undefined && r.maxSize !== undefined && r.minSize > r.maxSize) {
      ctx.addIssue({ code: 'custom', path: ['maxSize'], message: 'is below minSize' });
    }
  });
export type SearchRequest = z.input<typeof SearchRequest>;

/** The usage request, as sent on `<prefix>.api.usage`. */
export const UsageRequest = z
  .strictObject({
    bucket: z.string().min(1).max(63).optional(),
    prefix: z.string().max(1024).optional(),
    /** Roll up by the next path segment after `prefix`, S3-style (needs `bucket`). */
    delimiter: z.string().min(1).max(8).optional(),
    maxPrefixes: z.number().int().min(1).max(10_000).default(1000),
  })
  .superRefine((r, ctx) => {
    if (r.delimiter !== undefined && r.bucket === undefined) {
      ctx.addIssue({ code: 'custom', path: ['bucket'], message: 'is required with delimiter' });
    }
  });
export type UsageRequest = z.input<typeof UsageRequest>;

/** An error reply's body. */
export interface ApiError {
  /** `ValidationError` (bad request, `field` set), `IndexUnavailableError`, `InternalError`. */
  name: string;
  field?: string;
  message: string;
}

/** Reply of a failed request. */
export interface ApiErrorReply {
  ok: false;
  error: ApiError;
}

/** A request that failed validation. */
export class SearchValidationError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field === '' ? 'request' : field} ${message}`);
    this.name = 'ValidationError';
  }
}

function fail(error: z.ZodError): never {
  const issue = error.issues[0];
  const field = issue?.path.map(String).join('.') ?? '';
  throw new SearchValidationError(field, issue?.message ?? 'is invalid');
}

/** Encodes a position as an opaque cursor. */
export function encodeCursor(after: { bucket: string; key: string }): string {
  return Buffer.from(JSON.stringify([after.bucket, after.key]), 'utf8').toString('base64url');
}

/** Decodes a cursor from `encodeCursor`. @throws SearchValidationError (field `cursor`) */
export function decodeCursor(cursor: string): { bucket: string; key: string } {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(v) &&
      v.length === 2 &&
      typeof v[0] === 'string' &&
      typeof v[1] === 'string'
    ) {
      return { bucket: v[0], key: v[1] };
    }
  } catch {
    // fall through
  }
  throw new SearchValidationError('cursor', 'is not a cursor returned by search');
}

/** Validates a raw search request. @throws SearchValidationError naming the field */
export function compileSearch(input: unknown): SearchQuery {
  const r = SearchRequest.safeParse(input);
  if (!r.success) fail(r.error);
  const q = r.data;
  const metadata =
    q.metadata === undefined
      ? undefined
      : Object.fromEntries(Object.entries(q.metadata).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    bucket: q.bucket,
    prefix: q.prefix === '' ? undefined : q.prefix,
    textTokens: q.text === undefined ? undefined : [...new Set(tokenize(q.text))],
    metadata: metadata && Object.keys(metadata).length > 0 ? metadata : undefined,
    minSize: q.minSize,
    maxSize: q.maxSize,
    modifiedAfter: q.modifiedAfter,
    modifiedBefore: q.modifiedBefore,
    limit: q.limit,
    after: q.cursor === undefined ? undefined : decodeCursor(q.cursor),
  };
}

/** Validates a raw usage request. @throws SearchValidationError naming the field */
export function compileUsage(input: unknown): UsageQuery {
  const r = UsageRequest.safeParse(input);
  if (!r.success) fail(r.error);
  return {
    bucket: r.data.bucket,
    prefix: r.data.prefix === '' ? undefined : r.data.prefix,
    delimiter: r.data.delimiter,
    maxPrefixes: r.data.maxPrefixes,
  };
}
