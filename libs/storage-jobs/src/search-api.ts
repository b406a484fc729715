/**
 * Wire contract of `<prefix>.api.search` and `<prefix>.api.usage`, served by
 * the indexing worker and called by the CLI and any other client: the
 * request schemas (validated by the service, checkable by the caller) and
 * the error reply.
 */
import { z } from 'zod';

/**
 * Word tokens of a text, as the index and the search agree on them: lower-cased runs of
 * Unicode letters and digits.
 */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

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
