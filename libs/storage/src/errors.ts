/**
 * Typed errors thrown by every `@rfw/storage` driver.
 *
 * Every class sets `name`, accepts `{ cause }` and carries typed fields, so callers can
 * branch with `instanceof` (or on `code`) instead of parsing messages.
 */

/** Stable machine-readable codes, one per error class. */
export const StorageErrorCode = {
  InvalidBucket: 'INVALID_BUCKET',
  InvalidKey: 'INVALID_KEY',
  InvalidMetadata: 'INVALID_METADATA',
  BucketNotFound: 'BUCKET_NOT_FOUND',
  ObjectNotFound: 'OBJECT_NOT_FOUND',
  PreconditionFailed: 'PRECONDITION_FAILED',
  StorageUnavailable: 'STORAGE_UNAVAILABLE',
  StorageFull: 'STORAGE_FULL',
  ObjectCorrupted: 'OBJECT_CORRUPTED',
  UploadNotFound: 'UPLOAD_NOT_FOUND',
  TopologyConfig: 'TOPOLOGY_CONFIG',
} as const;
export type StorageErrorCode = (typeof StorageErrorCode)[keyof typeof StorageErrorCode];

/** Options accepted by every storage error constructor. */
export interface StorageErrorOptions {
  /** The underlying error (fs errno error, S3 service exception, ...). */
  cause?: unknown;
}

/** Base class of all storage errors. */
export class StorageError extends Error {
  /** Machine-readable code. */
  readonly code: StorageErrorCode;

  constructor(code: StorageErrorCode, message: string, options?: StorageErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StorageError';
    this.code = code;
  }
}

/** Why a bucket name was rejected. */
export const InvalidBucketReason = {
  Length: 'length',
  Charset: 'charset',
  Edge: 'edge',
  AdjacentDots: 'adjacent-dots',
  IpAddress: 'ip-address',
  ReservedPrefix: 'reserved-prefix',
  ReservedSuffix: 'reserved-suffix',
} as const;
export type InvalidBucketReason = (typeof InvalidBucketReason)[keyof typeof InvalidBucketReason];

/** A bucket name breaks the S3 naming rules. */
export class InvalidBucketError extends StorageError {
  readonly bucket: string;
  readonly reason: InvalidBucketReason;

  constructor(bucket: string, reason: InvalidBucketReason, options?: StorageErrorOptions) {
    super(
      StorageErrorCode.InvalidBucket,
      `invalid bucket name ${JSON.stringify(bucket)}: ${reason}`,
      options,
    );
    this.name = 'InvalidBucketError';
    this.bucket = bucket;
    this.reason = reason;
  }
}

/** Why an object key was rejected. */
export const InvalidKeyReason = {
  Empty: 'empty',
  TooLong: 'too-long',
  SegmentTooLong: 'segment-too-long',
  NulByte: 'nul-byte',
  Backslash: 'backslash',
  Absolute: 'absolute',
  DotSegment: 'dot-segment',
  DotDotSegment: 'dot-dot-segment',
  EmptySegment: 'empty-segment',
  ReservedSegment: 'reserved-segment',
  ControlCharacter: 'control-character',
  InvalidUtf16: 'invalid-utf16',
} as const;
export type InvalidKeyReason = (typeof InvalidKeyReason)[keyof typeof InvalidKeyReason];

/** An object key is not acceptable (path traversal, too long, reserved name, ...). */
export class InvalidKeyError extends StorageError {
  readonly bucket: string;
  readonly key: string;
  readonly reason: InvalidKeyReason;

  constructor(
    bucket: string,
    key: string,
    reason: InvalidKeyReason,
    options?: StorageErrorOptions,
  ) {
    super(
      StorageErrorCode.InvalidKey,
      `invalid object key ${JSON.stringify(key)} in bucket ${bucket}: ${reason}`,
      options,
    );
    this.name = 'InvalidKeyError';
    this.bucket = bucket;
    this.key = key;
    this.reason = reason;
  }
}

/** A user-metadata entry or content type is not portable across drivers. */
export class InvalidMetadataError extends StorageError {
  /** The metadata field (lower-cased name, or `contentType`). */
  readonly field: string;
  readonly reason: string;

  constructor(field: string, reason: string, options?: StorageErrorOptions) {
    super(
      StorageErrorCode.InvalidMetadata,
      `invalid metadata ${JSON.stringify(field)}: ${reason}`,
      options,
    );
    this.name = 'InvalidMetadataError';
    this.field = field;
    this.reason = reason;
  }
}

/** The bucket does not exist on this node. */
export class BucketNotFoundError extends StorageError {
  readonly node: string;
  readonly bucket: string;

  constructor(node: string, bucket: string, options?: StorageErrorOptions) {
    super(StorageErrorCode.BucketNotFound, `bucket ${bucket} not found on node ${node}`, options);
    this.name = 'BucketNotFoundError';
    this.node = node;
    this.bucket = bucket;
  }
}

/** The object does not exist (or is not fully written) on this node. */
export class ObjectNotFoundError extends StorageError {
  readonly node: string;
  readonly bucket: string;
  readonly key: string;

  constructor(node: string, bucket: string, key: string, options?: StorageErrorOptions) {
    super(
      StorageErrorCode.ObjectNotFound,
      `object ${bucket}/${key} not found on node ${node}`,
      options,
    );
    this.name = 'ObjectNotFoundError';
    this.node = node;
    this.bucket = bucket;
    this.key = key;
  }
}

/** Which precondition of a conditional operation failed. */
export type PreconditionKind = 'ifVersionId' | 'ifMtime';

/** A conditional delete found a different version than the caller expected. */
export class PreconditionFailedError extends StorageError {
  readonly node: string;
  readonly bucket: string;
  readonly key: string;
  readonly condition: PreconditionKind;
  readonly expected: string | number;
  readonly actual: string | number;

  constructor(
    node: string,
    bucket: string,
    key: string,
    condition: PreconditionKind,
    expected: string | number,
    actual: string | number,
    options?: StorageErrorOptions,
  ) {
    super(
      StorageErrorCode.PreconditionFailed,
      `precondition ${condition} failed for ${bucket}/${key} on node ${node}: expected ${expected}, found ${actual}`,
      options,
    );
    this.name = 'PreconditionFailedError';
    this.node = node;
    this.bucket = bucket;
    this.key = key;
    this.condition = condition;
    this.expected = expected;
    this.actual = actual;
  }
}

/** Why a node is considered unavailable. */
export const UnavailableReason = {
  Missing: 'missing',
  AccessDenied: 'access-denied',
  ReadOnly: 'read-only',
  Io: 'io',
  Network: 'network',
  Closed: 'closed',
  Server: 'server',
} as const;
export type UnavailableReason = (typeof UnavailableReason)[keyof typeof UnavailableReason];

/** The node cannot serve requests: directory missing, unreadable, read-only, endpoint down, store closed. */
export class StorageUnavailableError extends StorageError {
  readonly node: string;
  readonly reason: UnavailableReason;

  constructor(
    node: string,
    reason: UnavailableReason,
    detail: string,
    options?: StorageErrorOptions,
  ) {
    super(
      StorageErrorCode.StorageUnavailable,
      `storage node ${node} unavailable (${reason}): ${detail}`,
      options,
    );
    this.name = 'StorageUnavailableError';
    this.node = node;
    this.reason = reason;
  }
}

/** The node has no space (ENOSPC / EDQUOT / S3 quota). */
export class StorageFullError extends StorageError {
  readonly node: string;

  constructor(node: string, options?: StorageErrorOptions) {
    super(StorageErrorCode.StorageFull, `storage node ${node} is full`, options);
    this.name = 'StorageFullError';
    this.node = node;
  }
}

/** What did not match when reading an object back. */
export type CorruptionKind = 'missing-data' | 'size' | 'sha256' | 'block-crc32';

/** Stored bytes do not match their recorded size / SHA-256 / block CRC32 (bitrot, truncation). */
export class ObjectCorruptedError extends StorageError {
  readonly node: string;
  readonly bucket: string;
  readonly key: string;
  readonly kind: CorruptionKind;
  /** Index of the first bad block when `kind` is `block-crc32`. */
  readonly block: number | undefined;

  constructor(
    node: string,
    bucket: string,
    key: string,
    kind: CorruptionKind,
    detail: string,
    options?: StorageErrorOptions & { block?: number },
  ) {
    super(
      StorageErrorCode.ObjectCorrupted,
      `object ${bucket}/${key} on node ${node} is corrupt (${kind}): ${detail}`,
      options,
    );
    this.name = 'ObjectCorruptedError';
    this.node = node;
    this.bucket = bucket;
    this.key = key;
    this.kind = kind;
    this.block = options?.block;
  }
}

/** A partial (multipart) upload id is unknown. */
export class UploadNotFoundError extends StorageError {
  readonly node: string;
  readonly uploadId: string;

  constructor(node: string, uploadId: string, options?: StorageErrorOptions) {
    super(StorageErrorCode.UploadNotFound, `upload ${uploadId} not found on node ${node}`, options);
    this.name = 'UploadNotFoundError';
    this.node = node;
    this.uploadId = uploadId;
  }
}

/** A topology config is invalid; `field` is the dotted path of the offending field. */
export class TopologyConfigError extends StorageError {
  readonly field: string;
  /** All problems found, each with its field path. */
  readonly issues: readonly { field: string; message: string }[];

  constructor(
    field: string,
    message: string,
    options?: StorageErrorOptions & { issues?: { field: string; message: string }[] },
  ) {
    super(
      StorageErrorCode.TopologyConfig,
      `invalid topology config at ${field || '<root>'}: ${message}`,
      options,
    );
    this.name = 'TopologyConfigError';
    this.field = field;
    this.issues = options?.issues ?? [{ field, message }];
  }
}
