import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable, pipeline } from 'node:stream';
import type { HeadObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';

import { DEFAULT_BLOCK_SIZE, coarsenBlocks, digestBuffer, type ContentDigest } from './checksum.js';
import { ObjectNotFoundError, StorageUnavailableError, UnavailableReason } from './errors.js';
import { blocksBeyond, verifyStream } from './file-verify.js';
import { isNoSuchBucket, isNotFound, mapS3Error } from './s3-errors.js';
import { MAX_S3_BLOCKS, fromS3Headers, recordedSize, toS3Metadata } from './s3-metadata.js';
import { loadS3Sdk, type S3Sdk } from './s3-sdk.js';
import { writeBodyToFile } from './spool.js';
import { checkPreconditions, emitChange, mapLimit, pageSize } from './store-common.js';
import type { S3StoreOptions } from './s3-options.js';
import type {
  BucketInfo,
  ChangeListener,
  Capacity,
  DeleteOptions,
  GetOptions,
  GetResult,
  ListOptions,
  ListResult,
  ObjectInfo,
  ObjectStore,
  PingResult,
  PutOptions,
  VerifyOptions,
  VerifyResult,
} from './types.js';
import { normalizePutOptions, validateBucketName, validateKey } from './validation.js';
import { createVerifyingStream } from './verify-stream.js';
import { newVersionId } from './version-id.js';
import { KeyLock } from './key-lock.js';

const HEAD_CONCURRENCY = 8;

/**
 * A node on any S3 endpoint (RustFS, MinIO, AWS). rfw's SHA-256, block CRC32s, version id and
 * mtime travel as user metadata (`x-amz-meta-rfw-*`), so content is compared by size +
 * SHA-256, never by ETag. Conditional deletes are HEAD-then-DELETE: not atomic against
 * writers in other processes.
 */
export class S3ObjectStore implements ObjectStore {
  readonly id: string;
  readonly driver = 's3' as const;
  /** The SDK client (for advanced use). */
  readonly client: S3Client;
  private readonly ownsClient: boolean;
  private readonly locks = new KeyLock();
  private readonly sdk: S3Sdk = loadS3Sdk();
  private readonly blockSize: number;
  private readonly spoolDir: string;
  private readonly multipartThreshold: number;
  private readonly partSize: number;
  private readonly quotaBytes: number;
  private readonly onChange: ChangeListener | undefined;
  private closed = false;

  constructor(options: S3StoreOptions) {
    this.id = options.id;
    this.blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
    this.spoolDir = options.spoolDir ?? os.tmpdir();
    this.multipartThreshold = options.multipartThreshold ?? 16 * 1024 * 1024;
    this.partSize = Math.max(5 * 1024 * 1024, options.partSize ?? 8 * 1024 * 1024);
    this.quotaBytes = options.quotaBytes ?? Number.MAX_SAFE_INTEGER;
    this.onChange = options.onChange;
    this.ownsClient = options.client === undefined;
    this.client =
      options.client ??
      new this.sdk.s3.S3Client({
        endpoint: options.endpoint,
        region: options.region ?? 'us-east-1',
        credentials: options.credentials,
        forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
        maxAttempts: options.maxAttempts ?? 3,
        requestChecksumCalculation: options.checksums ?? 'WHEN_REQUIRED',
        responseChecksumValidation: options.checksums ?? 'WHEN_REQUIRED',
      });
  }

  async list(options: ListOptions): Promise<ListResult> {
    this.checkOpen();
    validateBucketName(options.bucket);
    const { bucket } = options;
    try {
      const page = await this.client.send(
        new this.sdk.s3.ListObjectsV2Command({
          Bucket: bucket,
          Prefix: options.prefix || undefined,
          StartAfter: options.cursor,
          MaxKeys: pageSize(options.limit),
        }),
      );
      const keys = (page.Contents ?? []).flatMap((c) => (c.Key === undefined ? [] : [c.Key]));
      // ListObjectsV2 has no user metadata: fetch it with bounded parallel HEADs.
      const infos = await mapLimit(keys, HEAD_CONCURRENCY, (key) => this.headRaw(bucket, key));
      const objects = infos.filter((i): i is ObjectInfo => i !== undefined);
      const last = keys[keys.length - 1];
      return page.IsTruncated && last !== undefined ? { objects, nextCursor: last } : { objects };
    } catch (err) {
      throw mapS3Error(this.id, err, { bucket });
    }
  }

  async head(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    this.checkOpen();
    validateBucketName(bucket);
    validateKey(bucket, key);
    try {
      return await this.headRaw(bucket, key);
    } catch (err) {
      throw mapS3Error(this.id, err, { bucket, key });
    }
  }

  async get(bucket: string, key: string, options?: GetOptions): Promise<GetResult> {
    this.checkOpen();
    validateBucketName(bucket);
    validateKey(bucket, key);
    try {
      const res = await this.client.send(
        new this.sdk.s3.GetObjectCommand({ Bucket: bucket, Key: key }),
      );
      const info = fromS3Headers(bucket, key, res);
      const raw = res.Body instanceof Readable ? res.Body : Readable.from([]);
      if (options?.verify === false) return { info, body: raw };
      const checked = createVerifyingStream(this.id, {
        ...info,
        size: recordedSize(res) ?? info.size,
      });
      pipeline(raw, checked, () => undefined);
      return { info, body: checked };
    } catch (err) {
      if (isNoSuchBucket(err)) throw new ObjectNotFoundError(this.id, bucket, key, { cause: err });
      throw mapS3Error(this.id, err, { bucket, key });
    }
  }

  async put(
    bucket: string,
    key: string,
    body: Readable | Buffer,
    options?: PutOptions,
  ): Promise<ObjectInfo> {
    this.checkOpen();
    validateBucketName(bucket);
    validateKey(bucket, key);
    const opts = normalizePutOptions(options);
    let spool: string | undefined;
    try {
      let digest: ContentDigest;
      if (Buffer.isBuffer(body)) {
        digest = digestBuffer(body, this.blockSize);
      } else {
        await fs.mkdir(this.spoolDir, { recursive: true });
        spool = path.join(this.spoolDir, `rfw-spool-${randomUUID()}`);
        digest = await writeBodyToFile(body, spool, this.blockSize, false);
      }
      const blocks = coarsenBlocks(digest.blockCrc32, digest.blockSize, digest.size, MAX_S3_BLOCKS);
      const info: ObjectInfo = {
        bucket,
        key,
        size: digest.size,
        sha256: digest.sha256,
        blockSize: blocks.blockSize,
        blockCrc32: blocks.blockCrc32,
        mtime: opts.mtime ?? Date.now(),
        etag: '',
        versionId: opts.versionId ?? newVersionId(),
        contentType: opts.contentType,
        userMetadata: opts.userMetadata,
      };
      const params = {
        Bucket: bucket,
        Key: key,
        ContentType: info.contentType,
        Metadata: toS3Metadata(info),
      };
      const payload = (): Buffer | Readable =>
        spool === undefined ? (body as Buffer) : createReadStream(spool);
      let etag: string | undefined;
      // S3 itself makes a PUT atomic, but emulators and gateways (s3rver, some
      // proxies) write data and metadata separately: writers of one key in this
      // process take turns, as with the file store.
      await this.locks.run(`${bucket}/${key}`, async () => {
        if (info.size <= this.multipartThreshold) {
          const res = await this.client.send(
            new this.sdk.s3.PutObjectCommand({
              ...params,
              Body: payload(),
              ContentLength: info.size,
            }),
          );
          etag = res.ETag;
        } else {
          const upload = new this.sdk.storage.Upload({
            client: this.client,
            params: { ...params, Body: payload() },
            partSize: this.partSize,
            queueSize: 2,
            leavePartsOnError: false,
          });
          etag = (await upload.done()).ETag;
        }
      });
      info.etag = (etag ?? '').replace(/"/g, '');
      emitChange(this.onChange, { type: 'put', node: this.id, bucket, key, info });
      return info;
    } catch (err) {
      if (!Buffer.isBuffer(body)) body.destroy();
      throw mapS3Error(this.id, err, { bucket });
    } finally {
      if (spool !== undefined) await fs.rm(spool, { force: true }).catch(() => undefined);
    }
  }

  async delete(bucket: string, key: string, options?: DeleteOptions): Promise<boolean> {
    this.checkOpen();
    validateBucketName(bucket);
    validateKey(bucket, key);
    try {
      const info = await this.headRaw(bucket, key);
      if (!info) return false;
      const failure = checkPreconditions(this.id, info, options);
      if (failure) throw failure;
      await this.client.send(new this.sdk.s3.DeleteObjectCommand({ Bucket: bucket, Key: key }));
      emitChange(this.onChange, { type: 'delete', node: this.id, bucket, key, info });
      return true;
    } catch (err) {
      throw mapS3Error(this.id, err, { bucket });
    }
  }

  async verify(bucket: string, key: string, options?: VerifyOptions): Promise<VerifyResult> {
    this.checkOpen();
    validateBucketName(bucket);
    validateKey(bucket, key);
    const deep = options?.deep ?? false;
    try {
      const head = await this.headOutput(bucket, key);
      if (!head) return { bucket, key, status: 'missing', corruptBlocks: [], deep };
      const actual = fromS3Headers(bucket, key, head);
      const info = { ...actual, size: recordedSize(head) ?? actual.size };
      if (!deep) {
        if (info.sha256 === '')
          return {
            bucket,
            key,
            status: 'unverifiable',
            info,
            actualSize: actual.size,
            corruptBlocks: [],
            deep,
          };
        if (actual.size !== info.size) {
          return {
            bucket,
            key,
            status: 'size-mismatch',
            info,
            actualSize: actual.size,
            corruptBlocks: blocksBeyond(info, actual.size),
            deep,
          };
        }
        return {
          bucket,
          key,
          status: 'ok',
          info,
          actualSize: actual.size,
          corruptBlocks: [],
          deep,
        };
      }
      const res = await this.client.send(
        new this.sdk.s3.GetObjectCommand({ Bucket: bucket, Key: key }),
      );
      const body = res.Body instanceof Readable ? res.Body : Readable.from([]);
      return await verifyStream(info, body);
    } catch (err) {
      throw mapS3Error(this.id, err, { bucket, key });
    }
  }

  async listBuckets(): Promise<BucketInfo[]> {
    this.checkOpen();
    try {
      const res = await this.client.send(new this.sdk.s3.ListBucketsCommand({}));
      return (res.Buckets ?? [])
        .flatMap((b) =>
          b.Name === undefined ? [] : [{ name: b.Name, createdAt: b.CreationDate?.getTime() ?? 0 }],
        )
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch (err) {
      throw mapS3Error(this.id, err);
    }
  }

  async createBucket(bucket: string): Promise<void> {
    this.checkOpen();
    validateBucketName(bucket);
    try {
      await this.client.send(new this.sdk.s3.CreateBucketCommand({ Bucket: bucket }));
    } catch (err) {
      const name = (err as { name?: string } | null)?.name;
      if (name === 'BucketAlreadyOwnedByYou' || name === 'BucketAlreadyExists') return;
      throw mapS3Error(this.id, err, { bucket });
    }
  }

  /**
   * `usedBytes` sums object sizes over all buckets (one listing pass: O(objects));
   * `totalBytes` is the configured `quotaBytes`.
   */
  async capacity(): Promise<Capacity> {
    let used = 0;
    for (const { name } of await this.listBuckets()) {
      let token: string | undefined;
      do {
        try {
          const page = await this.client.send(
            new this.sdk.s3.ListObjectsV2Command({ Bucket: name, ContinuationToken: token }),
          );
          for (const c of page.Contents ?? []) used += c.Size ?? 0;
          token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } catch (err) {
          throw mapS3Error(this.id, err, { bucket: name });
        }
      } while (token !== undefined);
    }
    return {
      totalBytes: this.quotaBytes,
      freeBytes: Math.max(0, this.quotaBytes - used),
      usedBytes: used,
    };
  }

  async ping(): Promise<PingResult> {
    this.checkOpen();
    const started = performance.now();
    try {
      await this.client.send(new this.sdk.s3.ListBucketsCommand({}));
    } catch (err) {
      const mapped = mapS3Error(this.id, err);
      if (mapped instanceof StorageUnavailableError) throw mapped;
      throw new StorageUnavailableError(this.id, UnavailableReason.Server, 'ping failed', {
        cause: err,
      });
    }
    return { latencyMs: performance.now() - started };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsClient) this.client.destroy();
  }

  private async headOutput(
    bucket: string,
    key: string,
  ): Promise<HeadObjectCommandOutput | undefined> {
    try {
      return await this.client.send(
        new this.sdk.s3.HeadObjectCommand({ Bucket: bucket, Key: key }),
      );
    } catch (err) {
      if (isNotFound(err) || isNoSuchBucket(err)) return undefined;
      throw err;
    }
  }

  private async headRaw(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    const res = await this.headOutput(bucket, key);
    return res ? fromS3Headers(bucket, key, res) : undefined;
  }

  private checkOpen(): void {
    if (this.closed)
      throw new StorageUnavailableError(this.id, UnavailableReason.Closed, 'store is closed');
  }
}
