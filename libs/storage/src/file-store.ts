import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { DEFAULT_BLOCK_SIZE } from './checksum.js';
import { writeBodyToFile } from './spool.js';
import {
  BucketNotFoundError,
  StorageError,
  StorageUnavailableError,
  UnavailableReason,
} from './errors.js';
import { deleteObjectFiles } from './file-delete.js';
import { mapFsError } from './file-errors.js';
import { commitObject, openObject, readWholeObject, type FileIoContext } from './file-io.js';
import { walkObjects } from './file-listing.js';
import { TMP_DIR, bucketDir, isErrno, metaToInfo, newTempPath, readMeta } from './file-layout.js';
import {
  FileMaintenance,
  type OrphanDataInfo,
  type PartialUploadInfo,
  type TempFileInfo,
} from './file-maintenance.js';
import { verifyFileObject } from './file-verify.js';
import { KeyLock } from './key-lock.js';
import { emitChange, pageSize } from './store-common.js';
import type {
  BucketInfo,
  Capacity,
  ChangeListener,
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
import { newVersionId } from './version-id.js';

/** Options of {@link FileObjectStore}. */
export interface FileStoreOptions {
  /** Node id. */
  id: string;
  /** Node directory. It must exist unless `createRoot` is set. */
  root: string;
  /** Create `root` (recursively) on first use. Default `false`: a missing root means the disk is gone. */
  createRoot?: boolean;
  /** Bytes per CRC32 block; default 1 MiB. */
  blockSize?: number;
  /** fsync data, metadata and directories on every write; default `true`. */
  fsync?: boolean;
  /** Called after each successful put / delete. */
  onChange?: ChangeListener;
}

/**
 * The embedded local driver: one directory per node. Writes go to `<root>/.rfw-tmp`, are
 * fsynced and renamed into place, and the metadata sidecar is renamed in last, so a crash
 * never exposes a half-written object. See `file-layout.ts` for the layout.
 */
export class FileObjectStore implements ObjectStore {
  readonly id: string;
  readonly driver = 'file' as const;
  /** Absolute node directory. */
  readonly root: string;
  readonly blockSize: number;
  private readonly maintenance: FileMaintenance;
  private readonly fsync: boolean;
  private readonly createRoot: boolean;
  private readonly onChange: ChangeListener | undefined;
  private readonly locks = new KeyLock();
  private tmpReady: Promise<void> | undefined;
  private closed = false;

  constructor(options: FileStoreOptions) {
    this.id = options.id;
    this.root = path.resolve(options.root);
    this.blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
    this.fsync = options.fsync ?? true;
    this.createRoot = options.createRoot ?? false;
    this.onChange = options.onChange;
    this.maintenance = new FileMaintenance(this);
  }

  async list(options: ListOptions): Promise<ListResult> {
    this.checkOpen();
    validateBucketName(options.bucket);
    const limit = pageSize(options.limit);
    try {
      await this.requireBucket(options.bucket);
      const objects: ObjectInfo[] = [];
      for await (const meta of walkObjects(this.root, options.bucket, options)) {
        if (objects.length === limit) {
          return { objects, nextCursor: objects[objects.length - 1]?.key };
        }
        objects.push(metaToInfo(meta));
      }
      return { objects };
    } catch (err) {
      throw await this.mapError(err);
    }
  }

  async head(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    this.checkOpen();
    validateBucketName(bucket);
    validateKey(bucket, key);
    try {
      const meta = await readMeta(this.root, bucket, key);
      if (meta) return metaToInfo(meta);
      await this.checkRoot();
      return undefined;
    } catch (err) {
      throw await this.mapError(err);
    }
  }

  async get(bucket: string, key: string, options?: GetOptions): Promise<GetResult> {
    this.checkOpen();
    validateBucketName(bucket);
    validateKey(bucket, key);
    try {
      return await openObject(this.ioContext(), bucket, key, options?.verify ?? true);
    } catch (err) {
      throw await this.mapError(err);
    }
  }

  /**
   * Reads a whole object of at most `maxBytes` into memory, checked against its metadata (size,
   * block CRC32s, SHA-256) like a verifying `get`, in three calls on the data file (open, read,
   * close) instead of a stat and a stream: the copy path of small objects.
   * @returns `undefined` when the object is bigger than `maxBytes`
   * @throws ObjectNotFoundError, ObjectCorruptedError, StorageUnavailableError
   */
  async getWhole(
    bucket: string,
    key: string,
    maxBytes: number,
  ): Promise<{ info: ObjectInfo; data: Buffer } | undefined> {
    this.checkOpen();
    validateBucketName(bucket);
    validateKey(bucket, key);
    try {
      return await readWholeObject(this.ioContext(), bucket, key, maxBytes);
    } catch (err) {
      throw await this.mapError(err);
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
    let tmpData: string | undefined;
    try {
      await this.requireBucket(bucket);
      await this.ensureTmp();
      const dataTmp = newTempPath(this.root, 'data');
      const digest = await writeBodyToFile(body, dataTmp, this.blockSize, this.fsync);
      tmpData = dataTmp;
      const info: ObjectInfo = {
        bucket,
        key,
        size: digest.size,
        sha256: digest.sha256,
        blockSize: digest.blockSize,
        blockCrc32: digest.blockCrc32,
        mtime: opts.mtime ?? Date.now(),
        etag: digest.md5,
        versionId: opts.versionId ?? newVersionId(),
        contentType: opts.contentType,
        userMetadata: opts.userMetadata,
      };
      await this.locks.run(`${bucket}/${key}`, () => commitObject(this.ioContext(), info, dataTmp));
      tmpData = undefined;
      emitChange(this.onChange, { type: 'put', node: this.id, bucket, key, info });
      return info;
    } catch (err) {
      if (tmpData !== undefined) await fs.rm(tmpData, { force: true }).catch(() => undefined);
      if (!Buffer.isBuffer(body)) body.destroy();
      throw await this.mapError(err);
    }
  }

  async delete(bucket: string, key: string, options?: DeleteOptions): Promise<boolean> {
    this.checkOpen();
    validateBucketName(bucket);
    validateKey(bucket, key);
    try {
      await this.ensureTmp();
      const deleted = await this.locks.run(`${bucket}/${key}`, () =>
        deleteObjectFiles(this.ioContext(), bucket, key, options),
      );
      if (deleted)
        emitChange(this.onChange, { type: 'delete', node: this.id, bucket, key, info: deleted });
      return deleted !== undefined;
    } catch (err) {
      throw await this.mapError(err);
    }
  }

  async verify(bucket: string, key: string, options?: VerifyOptions): Promise<VerifyResult> {
    this.checkOpen();
    validateBucketName(bucket);
    validateKey(bucket, key);
    try {
      const result = await verifyFileObject(this.root, bucket, key, options?.deep ?? false);
      if (result.status === 'missing') await this.checkRoot();
      return result;
    } catch (err) {
      throw await this.mapError(err);
    }
  }

  async listBuckets(): Promise<BucketInfo[]> {
    this.checkOpen();
    try {
      const entries = await fs.readdir(this.root, { withFileTypes: true });
      const buckets: BucketInfo[] = [];
      for (const entry of entries) {
        if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
        try {
          validateBucketName(entry.name);
        } catch {
          continue;
        }
        const st = await fs.stat(path.join(this.root, entry.name));
        buckets.push({ name: entry.name, createdAt: Math.round(st.birthtimeMs || st.mtimeMs) });
      }
      return buckets.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch (err) {
      throw await this.mapError(err);
    }
  }

  async createBucket(bucket: string): Promise<void> {
    this.checkOpen();
    validateBucketName(bucket);
    try {
      await this.ensureTmp();
      await fs.mkdir(bucketDir(this.root, bucket));
    } catch (err) {
      if (isErrno(err, 'EEXIST')) return;
      throw await this.mapError(err);
    }
  }

  async capacity(): Promise<Capacity> {
    this.checkOpen();
    try {
      const st = await fs.statfs(this.root);
      return {
        totalBytes: st.blocks * st.bsize,
        freeBytes: st.bavail * st.bsize,
        usedBytes: (st.blocks - st.bfree) * st.bsize,
      };
    } catch (err) {
      throw await this.mapError(err);
    }
  }

  async ping(): Promise<PingResult> {
    this.checkOpen();
    const started = performance.now();
    try {
      const st = await fs.stat(this.root);
      if (!st.isDirectory())
        throw new StorageUnavailableError(
          this.id,
          UnavailableReason.Missing,
          `${this.root} is not a directory`,
        );
      await fs.access(this.root, fsConstants.R_OK | fsConstants.W_OK | fsConstants.X_OK);
    } catch (err) {
      throw await this.mapError(err);
    }
    return { latencyMs: performance.now() - started };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Files in `<root>/.rfw-tmp` with their age; young ones are probably in-flight writes. */
  listTempFiles(): Promise<TempFileInfo[]> {
    this.checkOpen();
    return this.maintenance.listTempFiles();
  }

  /**
   * Removes one temp file by name. Removing one that an in-flight put still uses makes that put
   * fail (it never corrupts an object), so cleanup should only remove old ones.
   * @returns `false` when it was already gone
   */
  removeTempFile(name: string): Promise<boolean> {
    this.checkOpen();
    return this.maintenance.removeTempFile(name);
  }

  /** Starts a partial (multipart) upload kept under `<root>/.rfw-multipart/<uploadId>/`. @throws BucketNotFoundError */
  createPartialUpload(bucket: string, key: string, options?: PutOptions): Promise<string> {
    this.checkOpen();
    return this.maintenance.createPartialUpload(bucket, key, options);
  }

  /** Writes part `partNumber` (1..10000) of a partial upload. @throws UploadNotFoundError */
  uploadPart(
    uploadId: string,
    partNumber: number,
    body: Readable | Buffer,
  ): Promise<{ partNumber: number; size: number }> {
    this.checkOpen();
    return this.maintenance.uploadPart(uploadId, partNumber, body);
  }

  /** Assembles the parts in order into the object (a normal atomic put) and removes the upload. @throws UploadNotFoundError */
  completePartialUpload(uploadId: string): Promise<ObjectInfo> {
    this.checkOpen();
    return this.maintenance.completePartialUpload(uploadId);
  }

  /** Partial uploads with part count, bytes and age (oldest first): abandoned ones are cleanup work. */
  listPartialUploads(): Promise<PartialUploadInfo[]> {
    this.checkOpen();
    return this.maintenance.listPartialUploads();
  }

  /** Deletes a partial upload and its parts. @returns `false` when it did not exist */
  abortPartialUpload(uploadId: string): Promise<boolean> {
    this.checkOpen();
    return this.maintenance.abortPartialUpload(uploadId);
  }

  /** Data files of a bucket that no metadata references (crash leftovers). */
  listOrphanData(bucket: string): Promise<OrphanDataInfo[]> {
    this.checkOpen();
    return this.maintenance.listOrphanData(bucket);
  }

  /**
   * Removes an orphan data file if still unreferenced and at least `minAgeMs` old (default 10 min).
   * @returns whether it was removed
   */
  removeOrphanData(
    orphan: Pick<OrphanDataInfo, 'bucket' | 'key' | 'file'>,
    minAgeMs?: number,
  ): Promise<boolean> {
    this.checkOpen();
    return this.maintenance.removeOrphanData(orphan, minAgeMs);
  }

  /** @internal Creates the temp area once (and the root when `createRoot`). */
  async ensureTmp(): Promise<void> {
    this.tmpReady ??= (async () => {
      if (this.createRoot) await fs.mkdir(this.root, { recursive: true });
      await fs.mkdir(path.join(this.root, TMP_DIR)).catch((err: unknown) => {
        if (!isErrno(err, 'EEXIST')) throw err;
      });
    })();
    try {
      await this.tmpReady;
    } catch (err) {
      this.tmpReady = undefined;
      throw err;
    }
  }

  private async requireBucket(bucket: string): Promise<void> {
    try {
      const st = await fs.stat(bucketDir(this.root, bucket));
      if (st.isDirectory()) return;
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
    await this.checkRoot();
    throw new BucketNotFoundError(this.id, bucket);
  }

  /** @throws StorageUnavailableError when the node directory itself is gone. */
  private async checkRoot(): Promise<void> {
    try {
      const st = await fs.stat(this.root);
      if (!st.isDirectory())
        throw new StorageUnavailableError(
          this.id,
          UnavailableReason.Missing,
          `${this.root} is not a directory`,
        );
    } catch (err) {
      if (err instanceof StorageError) throw err;
      throw await this.mapError(err);
    }
  }

  private ioContext(): FileIoContext {
    return { id: this.id, root: this.root, fsync: this.fsync, checkRoot: () => this.checkRoot() };
  }

  private checkOpen(): void {
    if (this.closed)
      throw new StorageUnavailableError(this.id, UnavailableReason.Closed, 'store is closed');
  }

  /** @internal Maps fs errors to typed storage errors (ENOENT only when the root is gone). */
  mapError(err: unknown): Promise<unknown> {
    return mapFsError(this.id, this.root, err);
  }
}
