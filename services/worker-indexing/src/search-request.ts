/**
 * Validation of `<prefix>.api.search` and `<prefix>.api.usage` requests (their
 * schemas live in `@rfw/storage-jobs`) and the opaque pagination cursor.
 */
import type { z } from 'zod';
import { SearchRequest, UsageRequest } from '@rfw/storage-jobs';
import { tokenize, type SearchQuery, type UsageQuery } from './index-types.js';

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
