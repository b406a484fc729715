import type { Readable } from 'node:stream';

/** Which driver backs a store. */
export const StorageDriver = {
  File: 'file',
  S3: 's3',
} as const;
export type StorageDriver = (typeof StorageDriver)[keyof typeof StorageDriver];

/** Everything known about one stored object (one version of it, on one node). */
export interface ObjectInfo {
  bucket: string;
  key: string;
  /** Size in bytes. */
  size: number;
  /**
   * SHA-256 of the content, lower-case hex. Empty string for objects that were written
   * to an S3 endpoint by something other than `@rfw/storage` (no checksum recorded).
   */
  sha256: string;
  /** Size in bytes of the blocks that `blockCrc32` covers (0 when unknown). */
  blockSize: number;
  /** CRC32 of each `blockSize` block of the content, in order (last block may be short; none for an empty object). */
  blockCrc32: number[];
  /** Modification time, ms since the epoch. Preserved from `PutOptions.mtime` when given. */
  mtime: number;
  /**
   * Entity tag without quotes. For the file driver it is the MD5 hex of the content; for S3
   * it is whatever the server returned (multipart ETags are NOT content hashes): never
   * compare content by ETag, compare `size` + `sha256`.
   */
  etag: string;
  /** Version identifier (a UUIDv7 unless the writer supplied one). */
  versionId: string;
  /** MIME type; `application/octet-stream` by default. */
  contentType: string;
  /** User metadata; names are lower-cased. */
  userMetadata: Record<string, string>;
}

/** Arguments of {@link ObjectStore.list}. */
export interface ListOptions {
  bucket: string;
  /** Only keys starting with this string. */
  prefix?: string;
  /** Only keys strictly greater than this (the `nextCursor` of the previous page). */
  cursor?: string;
  /** Page size; default 1000, at most 1000. */
  limit?: number;
}

/** One page of a listing, ordered by key (UTF-8 byte order). */
export interface ListResult {
  objects: ObjectInfo[];
  /** Present when there may be more: pass it back as `cursor` (it is the last key of this page). */
  nextCursor?: string;
}

/** Options of {@link ObjectStore.put}. */
export interface PutOptions {
  /** Default `application/octet-stream`. */
  contentType?: string;
  /** User metadata: names are lower-cased; names and values must be printable ASCII. */
  userMetadata?: Record<string, string>;
  /** Version id to record (replication keeps the source's); a new UUIDv7 by default. */
  versionId?: string;
  /** Modification time to record, ms since the epoch (replication keeps the source's); now by default. */
  mtime?: number;
}

/** Options of {@link ObjectStore.get}. */
export interface GetOptions {
  /**
   * Check size, block CRC32s and SHA-256 while streaming; the body stream then fails with
   * `ObjectCorruptedError` as soon as a mismatch is seen. Default `true`.
   */
  verify?: boolean;
}

/** Result of {@link ObjectStore.get}. */
export interface GetResult {
  info: ObjectInfo;
  /** The content. Consume or destroy it. */
  body: Readable;
}

/** Preconditions of {@link ObjectStore.delete}. */
export interface DeleteOptions {
  /** Delete only if the current version id equals this; else `PreconditionFailedError`. */
  ifVersionId?: string;
  /** Delete only if the current mtime (ms) equals this; else `PreconditionFailedError`. */
  ifMtime?: number;
}

/** A bucket on a node. */
export interface BucketInfo {
  name: string;
  /** Creation time, ms since the epoch (0 when the backend does not say). */
  createdAt: number;
}

/** Space on a node, in bytes. */
export interface Capacity {
  totalBytes: number;
  freeBytes: number;
  usedBytes: number;
}

/** Result of a successful {@link ObjectStore.ping}. */
export interface PingResult {
  /** Round-trip time in ms. */
  latencyMs: number;
}

/** Options of {@link ObjectStore.verify}. */
export interface VerifyOptions {
  /** Re-read all bytes and check SHA-256 and every block CRC32 (default `false`: size and presence only). */
  deep?: boolean;
}

/** Outcome of a verification. */
export const VerifyStatus = {
  /** Everything checked matched. */
  Ok: 'ok',
  /** No object (no metadata) on this node. */
  Missing: 'missing',
  /** Metadata exists but the data is gone. */
  MissingData: 'missing-data',
  /** Data size differs from the recorded size (truncation). */
  SizeMismatch: 'size-mismatch',
  /** Some bytes differ (bitrot): see `corruptBlocks`. */
  Corrupt: 'corrupt',
  /** No checksum is recorded (object written by a foreign S3 client). */
  Unverifiable: 'unverifiable',
} as const;
export type VerifyStatus = (typeof VerifyStatus)[keyof typeof VerifyStatus];

/** Result of {@link ObjectStore.verify}. */
export interface VerifyResult {
  bucket: string;
  key: string;
  status: VerifyStatus;
  /** Recorded metadata, when present. */
  info?: ObjectInfo;
  /** Bytes actually found (undefined when missing). */
  actualSize?: number;
  /** SHA-256 actually computed (deep only). */
  actualSha256?: string;
  /** Indexes of blocks whose CRC32 differs, or that are missing because the data is short (deep only, plus short data). */
  corruptBlocks: number[];
  /** Whether all bytes were re-read. */
  deep: boolean;
}

/** Emitted after a successful write or delete. */
export interface ChangeEvent {
  type: 'put' | 'delete';
  /** Node id of the store. */
  node: string;
  bucket: string;
  key: string;
  /** The new object for `put`, the deleted one for `delete`. */
  info?: ObjectInfo;
}

/** Listener for {@link ChangeEvent}s; exceptions it throws are swallowed. */
export type ChangeListener = (event: ChangeEvent) => void;

/**
 * One storage node. Implemented by the local file driver and the S3 driver; both pass the
 * same contract test suite.
 */
export interface ObjectStore {
  /** Node id (unique in a topology). */
  readonly id: string;
  readonly driver: StorageDriver;

  /**
   * Lists objects ordered by key.
   * @throws InvalidBucketError, BucketNotFoundError, StorageUnavailableError
   */
  list(options: ListOptions): Promise<ListResult>;

  /**
   * Metadata of one object, or `undefined` when it (or its bucket) does not exist.
   * @throws InvalidBucketError, InvalidKeyError, StorageUnavailableError
   */
  head(bucket: string, key: string): Promise<ObjectInfo | undefined>;

  /**
   * Opens an object for streaming.
   * @throws ObjectNotFoundError, InvalidBucketError, InvalidKeyError, StorageUnavailableError
   */
  get(bucket: string, key: string, options?: GetOptions): Promise<GetResult>;

  /**
   * Stores an object atomically (readers see the old or the new object, never a mix),
   * computing SHA-256 and per-block CRC32 while writing.
   * @throws BucketNotFoundError, InvalidKeyError, InvalidMetadataError, StorageFullError, StorageUnavailableError
   */
  put(
    bucket: string,
    key: string,
    body: Readable | Buffer,
    options?: PutOptions,
  ): Promise<ObjectInfo>;

  /**
   * Deletes an object. Resolves `false` when there was nothing to delete.
   * @throws PreconditionFailedError, StorageUnavailableError
   */
  delete(bucket: string, key: string, options?: DeleteOptions): Promise<boolean>;

  /** Checks an object's stored bytes against its recorded checksums. */
  verify(bucket: string, key: string, options?: VerifyOptions): Promise<VerifyResult>;

  /** All buckets, by name. */
  listBuckets(): Promise<BucketInfo[]>;

  /** Creates a bucket; no error when it already exists. @throws InvalidBucketError */
  createBucket(bucket: string): Promise<void>;

  /** Space on the node. */
  capacity(): Promise<Capacity>;

  /** Online check. @throws StorageUnavailableError when the node cannot serve requests */
  ping(): Promise<PingResult>;

  /** Releases resources; later calls fail with `StorageUnavailableError` (reason `closed`). */
  close(): Promise<void>;
}
