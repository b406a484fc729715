import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { InvalidMetadataError, UploadNotFoundError } from './errors.js';
import {
  DATA_FILE_PREFIX,
  META_FILE,
  MULTIPART_DIR,
  TMP_DIR,
  bucketDir,
  isErrno,
  parseMeta,
  renameInto,
} from './file-layout.js';
import type { ObjectInfo, PutOptions } from './types.js';
import {
  RESERVED_SEGMENT_PREFIX,
  normalizePutOptions,
  validateBucketName,
  validateKey,
} from './validation.js';

/** A file in a node's temp area (`<root>/.rfw-tmp`). */
export interface TempFileInfo {
  /** File name (pass it to `removeTempFile`). */
  name: string;
  path: string;
  size: number;
  /** Last modification, ms since the epoch. */
  mtime: number;
  /** Now minus `mtime`, ms. */
  ageMs: number;
}

/** A partial (multipart) upload under `<root>/.rfw-multipart/<uploadId>`. */
export interface PartialUploadInfo {
  uploadId: string;
  bucket: string;
  key: string;
  /** Creation time, ms since the epoch. */
  initiated: number;
  /** Time of the last part written (or `initiated`), ms since the epoch. */
  lastActivity: number;
  /** Now minus `lastActivity`, ms. */
  ageMs: number;
  /** Number of parts written. */
  parts: number;
  /** Bytes in all parts. */
  bytes: number;
}

/** A data file that no metadata references (left by a crash between data and metadata rename). */
export interface OrphanDataInfo {
  bucket: string;
  /** Key of the object directory holding it. */
  key: string;
  /** Data file name inside that directory. */
  file: string;
  size: number;
  ageMs: number;
}

/** What the helpers need from the store. */
export interface MaintenanceContext {
  readonly id: string;
  readonly root: string;
  ensureTmp(): Promise<void>;
  mapError(err: unknown): Promise<unknown>;
  put(bucket: string, key: string, body: Readable, options?: PutOptions): Promise<ObjectInfo>;
}

const UPLOAD_ID = /^[A-Za-z0-9-]{1,64}$/;
const UPLOAD_FILE = 'upload.json';
const PART_FILE = /^part-(\d{5})$/;

interface UploadRecord {
  bucket: string;
  key: string;
  initiated: number;
  options: PutOptions;
}

/** Cleanup and multipart helpers of a file node; exposed through `FileObjectStore` methods. */
export class FileMaintenance {
  constructor(private readonly ctx: MaintenanceContext) {}

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw await this.ctx.mapError(err);
    }
  }

  /** Lists the temp area. Files younger than a few minutes are probably in-flight writes. */
  listTempFiles(now = Date.now()): Promise<TempFileInfo[]> {
    return this.guard(async () => {
      const dir = path.join(this.ctx.root, TMP_DIR);
      let names: string[];
      try {
        names = await fs.readdir(dir);
      } catch (err) {
        if (isErrno(err, 'ENOENT')) return [];
        throw err;
      }
      const out: TempFileInfo[] = [];
      for (const name of names.sort()) {
        const p = path.join(dir, name);
        const st = await fs.lstat(p).catch(() => undefined);
        if (!st) continue;
        out.push({
          name,
          path: p,
          size: st.size,
          mtime: Math.round(st.mtimeMs),
          ageMs: Math.max(0, now - st.mtimeMs),
        });
      }
      return out;
    });
  }

  /** Removes one temp file by name; `false` when it was already gone. */
  removeTempFile(name: string): Promise<boolean> {
    return this.guard(async () => {
      if (
        name.includes('/') ||
        name.includes('\\') ||
        name === '.' ||
        name === '..' ||
        name === ''
      ) {
        throw new InvalidMetadataError('name', `not a temp file name: ${JSON.stringify(name)}`);
      }
      try {
        await fs.rm(path.join(this.ctx.root, TMP_DIR, name), { recursive: true });
        return true;
      } catch (err) {
        if (isErrno(err, 'ENOENT')) return false;
        throw err;
      }
    });
  }

  /** Starts a partial upload; returns its id. */
  createPartialUpload(bucket: string, key: string, options?: PutOptions): Promise<string> {
    validateBucketName(bucket);
    validateKey(bucket, key);
    normalizePutOptions(options);
    return this.guard(async () => {
      await this.ctx.ensureTmp();
      await fs.access(bucketDir(this.ctx.root, bucket));
      const uploadId = randomUUID();
      const dir = this.uploadDir(uploadId);
      await fs.mkdir(dir, { recursive: true });
      const record: UploadRecord = { bucket, key, initiated: Date.now(), options: options ?? {} };
      await fs.writeFile(path.join(dir, UPLOAD_FILE), JSON.stringify(record));
      return uploadId;
    });
  }

  /** Writes (or replaces) part `partNumber` (1..10000) of an upload. */
  uploadPart(
    uploadId: string,
    partNumber: number,
    body: Readable | Buffer,
  ): Promise<{ partNumber: number; size: number }> {
    return this.guard(async () => {
      await this.readUpload(uploadId);
      if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) {
        throw new InvalidMetadataError('partNumber', 'must be an integer in 1..10000');
      }
      const tmp = path.join(this.ctx.root, TMP_DIR, `${randomUUID()}.part`);
      await fs.writeFile(tmp, body);
      const { size } = await fs.stat(tmp);
      await renameInto(
        this.ctx.root,
        tmp,
        this.uploadDir(uploadId),
        `part-${String(partNumber).padStart(5, '0')}`,
      );
      return { partNumber, size };
    });
  }

  /** Concatenates the parts in part-number order into the object, then removes the upload. */
  completePartialUpload(uploadId: string): Promise<ObjectInfo> {
    return this.guard(async () => {
      const record = await this.readUpload(uploadId);
      const dir = this.uploadDir(uploadId);
      const parts = (await fs.readdir(dir)).filter((n) => PART_FILE.test(n)).sort();
      async function* concat(): AsyncGenerator<Buffer> {
        for (const part of parts) {
          for await (const chunk of createReadStream(path.join(dir, part))) yield chunk as Buffer;
        }
      }
      const info = await this.ctx.put(
        record.bucket,
        record.key,
        Readable.from(concat()),
        record.options,
      );
      await fs.rm(dir, { recursive: true, force: true });
      return info;
    });
  }

  /** Lists partial uploads, oldest activity first. */
  listPartialUploads(now = Date.now()): Promise<PartialUploadInfo[]> {
    return this.guard(async () => {
      let ids: string[];
      try {
        ids = await fs.readdir(path.join(this.ctx.root, MULTIPART_DIR));
      } catch (err) {
        if (isErrno(err, 'ENOENT')) return [];
        throw err;
      }
      const out: PartialUploadInfo[] = [];
      for (const uploadId of ids) {
        if (!UPLOAD_ID.test(uploadId)) continue;
        const record = await this.readUpload(uploadId).catch(() => undefined);
        const dir = this.uploadDir(uploadId);
        const names = await fs.readdir(dir).catch(() => [] as string[]);
        let bytes = 0;
        let parts = 0;
        let lastActivity = 0;
        for (const name of names) {
          const st = await fs.stat(path.join(dir, name)).catch(() => undefined);
          if (!st) continue;
          lastActivity = Math.max(lastActivity, Math.round(st.mtimeMs));
          if (PART_FILE.test(name)) {
            parts++;
            bytes += st.size;
          }
        }
        if (lastActivity === 0) lastActivity = record?.initiated ?? 0;
        out.push({
          uploadId,
          bucket: record?.bucket ?? '',
          key: record?.key ?? '',
          initiated: record?.initiated ?? lastActivity,
          lastActivity,
          ageMs: Math.max(0, now - lastActivity),
          parts,
          bytes,
        });
      }
      return out.sort((a, b) => a.lastActivity - b.lastActivity);
    });
  }

  /** Removes a partial upload and its parts; `false` when it did not exist. */
  abortPartialUpload(uploadId: string): Promise<boolean> {
    return this.guard(async () => {
      if (!UPLOAD_ID.test(uploadId)) return false;
      const dir = this.uploadDir(uploadId);
      try {
        await fs.access(dir);
      } catch (err) {
        if (isErrno(err, 'ENOENT')) return false;
        throw err;
      }
      await fs.rm(dir, { recursive: true, force: true });
      return true;
    });
  }

  /** Finds data files in a bucket that no metadata references. Young ones may be in-flight puts. */
  listOrphanData(bucket: string, now = Date.now()): Promise<OrphanDataInfo[]> {
    validateBucketName(bucket);
    return this.guard(async () => {
      const out: OrphanDataInfo[] = [];
      const walk = async (dir: string, key: string): Promise<void> => {
        const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
        const dataFiles = entries
          .filter((e) => e.isFile() && e.name.startsWith(DATA_FILE_PREFIX))
          .map((e) => e.name);
        if (key !== '' && dataFiles.length > 0) {
          const referenced = await this.referencedDataFile(dir, bucket, key);
          for (const file of dataFiles) {
            if (file === referenced) continue;
            const st = await fs.stat(path.join(dir, file)).catch(() => undefined);
            if (st)
              out.push({ bucket, key, file, size: st.size, ageMs: Math.max(0, now - st.mtimeMs) });
          }
        }
        for (const e of entries) {
          if (e.isDirectory() && !e.name.startsWith(RESERVED_SEGMENT_PREFIX)) {
            await walk(path.join(dir, e.name), key === '' ? e.name : `${key}/${e.name}`);
          }
        }
      };
      await walk(bucketDir(this.ctx.root, bucket), '');
      return out;
    });
  }

  /**
   * Removes an orphan found by `listOrphanData`, after re-checking that it is still
   * unreferenced and at least `minAgeMs` old (default 10 min): a put renames its data file in
   * just before its metadata, so a very young "orphan" may be about to become live.
   */
  removeOrphanData(
    orphan: Pick<OrphanDataInfo, 'bucket' | 'key' | 'file'>,
    minAgeMs = 10 * 60_000,
  ): Promise<boolean> {
    validateBucketName(orphan.bucket);
    validateKey(orphan.bucket, orphan.key);
    return this.guard(async () => {
      if (!orphan.file.startsWith(DATA_FILE_PREFIX) || orphan.file.includes('/')) return false;
      const dir = path.join(this.ctx.root, orphan.bucket, ...orphan.key.split('/'));
      const st = await fs.stat(path.join(dir, orphan.file)).catch(() => undefined);
      if (!st || Date.now() - st.mtimeMs < minAgeMs) return false;
      if ((await this.referencedDataFile(dir, orphan.bucket, orphan.key)) === orphan.file)
        return false;
      try {
        await fs.unlink(path.join(dir, orphan.file));
        return true;
      } catch (err) {
        if (isErrno(err, 'ENOENT')) return false;
        throw err;
      }
    });
  }

  private async referencedDataFile(
    dir: string,
    bucket: string,
    key: string,
  ): Promise<string | undefined> {
    const text = await fs.readFile(path.join(dir, META_FILE), 'utf8').catch(() => undefined);
    return text === undefined ? undefined : parseMeta(text, bucket, key)?.dataFile;
  }

  private uploadDir(uploadId: string): string {
    return path.join(this.ctx.root, MULTIPART_DIR, uploadId);
  }

  private async readUpload(uploadId: string): Promise<UploadRecord> {
    if (!UPLOAD_ID.test(uploadId)) throw new UploadNotFoundError(this.ctx.id, uploadId);
    let text: string;
    try {
      text = await fs.readFile(path.join(this.uploadDir(uploadId), UPLOAD_FILE), 'utf8');
    } catch (err) {
      if (isErrno(err, 'ENOENT'))
        throw new UploadNotFoundError(this.ctx.id, uploadId, { cause: err });
      throw err;
    }
    return JSON.parse(text) as UploadRecord;
  }
}
