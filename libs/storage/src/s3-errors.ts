import {
  BucketNotFoundError,
  ObjectNotFoundError,
  StorageError,
  StorageFullError,
  StorageUnavailableError,
  UnavailableReason,
} from './errors.js';

interface ServiceErrorLike {
  name?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'EAI_AGAIN',
  'TimeoutError',
  'RequestTimeout',
]);
const ACCESS_NAMES = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'Forbidden',
  'ExpiredToken',
]);
const FULL_NAMES = new Set([
  'XMinioStorageFull',
  'StorageFull',
  'QuotaExceeded',
  'XRustFSStorageFull',
]);

/** HTTP status of an SDK error, if it has one. */
export function httpStatus(err: unknown): number | undefined {
  return (err as ServiceErrorLike | null)?.$metadata?.httpStatusCode;
}

/** Whether an SDK error means "no such key" (GetObject: NoSuchKey; HeadObject: bare 404). */
export function isNotFound(err: unknown): boolean {
  const e = err as ServiceErrorLike | null;
  return (
    e?.name === 'NoSuchKey' ||
    e?.name === 'NotFound' ||
    (httpStatus(err) === 404 && e?.name !== 'NoSuchBucket')
  );
}

/** Whether an SDK error means "no such bucket". */
export function isNoSuchBucket(err: unknown): boolean {
  return (err as ServiceErrorLike | null)?.name === 'NoSuchBucket';
}

/**
 * Maps an AWS SDK error to a typed storage error (with the SDK error as `cause`);
 * unknown errors are returned unchanged.
 */
export function mapS3Error(
  node: string,
  err: unknown,
  target?: { bucket: string; key?: string },
): unknown {
  if (err instanceof StorageError) return err;
  const e = (err ?? {}) as ServiceErrorLike;
  const status = httpStatus(err);
  if (e.name === 'NoSuchBucket' && target)
    return new BucketNotFoundError(node, target.bucket, { cause: err });
  if (target?.key !== undefined && isNotFound(err))
    return new ObjectNotFoundError(node, target.bucket, target.key, { cause: err });
  if (e.name !== undefined && FULL_NAMES.has(e.name))
    return new StorageFullError(node, { cause: err });
  if ((e.name !== undefined && ACCESS_NAMES.has(e.name)) || status === 403) {
    return new StorageUnavailableError(
      node,
      UnavailableReason.AccessDenied,
      e.name ?? 'access denied',
      { cause: err },
    );
  }
  if (
    (e.code !== undefined && NETWORK_CODES.has(e.code)) ||
    (e.name !== undefined && NETWORK_CODES.has(e.name))
  ) {
    return new StorageUnavailableError(
      node,
      UnavailableReason.Network,
      e.code ?? e.name ?? 'network error',
      { cause: err },
    );
  }
  if (status !== undefined && status >= 500) {
    return new StorageUnavailableError(
      node,
      UnavailableReason.Server,
      `${e.name ?? 'server error'} (HTTP ${status})`,
      { cause: err },
    );
  }
  return err;
}
