import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream';
import { ContentHasher } from './checksum.js';
import { ObjectCorruptedError, ObjectNotFoundError } from './errors.js';
import { readUpTo } from './file-read.js';
import {
  META_FILE,
  fsyncDir,
  infoToMeta,
  isErrno,
  metaToInfo,
  newDataFileName,
  objectDir,
  readMeta,
  renameInto,
  writeTempFile,
} from './file-layout.js';
import type { GetResult, ObjectInfo } from './types.js';
import { createVerifyingStream } from './verify-stream.js';

/** What the read / commit helpers need from the store. */
export interface FileIoContext {
  id: string;
  root: string;
  fsync: boolean;
  /** @throws StorageUnavailableError when the node directory is gone */
  checkRoot(): Promise<void>;
}

/**
 * Opens an object for reading. The data file named by the metadata can be replaced by a
 * concurrent put between the two reads, so this retries with fresh metadata; once open, the
 * fd keeps the bytes alive even if the file is unlinked.
 * @throws ObjectNotFoundError, ObjectCorruptedError (missing data, or wrong size when verifying)
 */
export async function openObject(
  ctx: FileIoContext,
  bucket: string,
  key: string,
  verify: boolean,
): Promise<GetResult> {
  for (let attempt = 0; ; attempt++) {
    const meta = await readMeta(ctx.root, bucket, key);
    if (!meta) {
      await ctx.checkRoot();
      throw new ObjectNotFoundError(ctx.id, bucket, key);
    }
    let fh: fs.FileHandle;
    try {
      fh = await fs.open(path.join(objectDir(ctx.root, bucket, key), meta.dataFile), 'r');
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
      if (attempt < 3) continue;
      const detail = `data file ${meta.dataFile} is missing`;
      throw new ObjectCorruptedError(ctx.id, bucket, key, 'missing-data', detail, { cause: err });
    }
    const info = metaToInfo(meta);
    const { size } = await fh.stat();
    if (verify && size !== info.size) {
      await fh.close();
      const detail = `data file has ${size} bytes, recorded ${info.size}`;
      throw new ObjectCorruptedError(ctx.id, bucket, key, 'size', detail);
    }
    const raw = fh.createReadStream();
    if (!verify) return { info, body: raw };
    const checked = createVerifyingStream(ctx.id, info);
    pipeline(raw, checked, () => undefined);
    return { info, body: checked };
  }
}

/**
 * Reads a whole object of at most `maxBytes` into memory and checks it against its metadata
 * (size, block CRC32s, SHA-256), with one open, one read and one close of the data file
 * instead of a stat and a stream. Retries with fresh metadata like {@link openObject}.
 * @returns `undefined` when the object is bigger than `maxBytes` (read nothing of its data)
 * @throws ObjectNotFoundError, ObjectCorruptedError (missing data, wrong size, CRC32 or SHA-256)
 */
export async function readWholeObject(
  ctx: FileIoContext,
  bucket: string,
  key: string,
  maxBytes: number,
): Promise<{ info: ObjectInfo; data: Buffer } | undefined> {
  for (let attempt = 0; ; attempt++) {
    const meta = await readMeta(ctx.root, bucket, key);
    if (!meta) {
      await ctx.checkRoot();
      throw new ObjectNotFoundError(ctx.id, bucket, key);
    }
    if (meta.size > maxBytes) return undefined;
    const info = metaToInfo(meta);
    let read: { data: Buffer; more: boolean };
    try {
      read = await readUpTo(path.join(objectDir(ctx.root, bucket, key), meta.dataFile), meta.size);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
      if (attempt < 3) continue;
      const detail = `data file ${meta.dataFile} is missing`;
      throw new ObjectCorruptedError(ctx.id, bucket, key, 'missing-data', detail, { cause: err });
    }
    const corrupt = (kind: 'size' | 'sha256' | 'block-crc32', detail: string, block?: number) =>
      new ObjectCorruptedError(
        ctx.id,
        bucket,
        key,
        kind,
        detail,
        block === undefined ? undefined : { block },
      );
    if (read.more || read.data.length !== info.size) {
      const detail = `data file ${read.more ? 'has more than' : `has ${read.data.length} bytes,`} recorded ${info.size}`;
      throw corrupt('size', detail);
    }
    const checkBlocks = info.blockSize > 0 && info.blockCrc32.length > 0;
    const hasher = new ContentHasher(checkBlocks ? info.blockSize : 1024 * 1024, false);
    hasher.update(read.data);
    const digest = hasher.digest();
    if (checkBlocks) {
      const n = Math.max(info.blockCrc32.length, digest.blockCrc32.length);
      for (let b = 0; b < n; b++) {
        if (digest.blockCrc32[b] !== info.blockCrc32[b])
          throw corrupt('block-crc32', `block ${b} CRC32 mismatch`, b);
      }
    }
    if (info.sha256 !== '' && digest.sha256 !== info.sha256)
      throw corrupt('sha256', `SHA-256 ${digest.sha256} differs from recorded ${info.sha256}`);
    return { info, data: read.data };
  }
}

/**
 * Makes a fully written, fsynced temp data file the current content of `info.bucket/key`:
 * writes the metadata to a temp file, renames the data into the object directory, renames
 * the metadata in last (the commit point), fsyncs the directory and drops the replaced data
 * file. Call under the per-key lock.
 */
export async function commitObject(
  ctx: FileIoContext,
  info: ObjectInfo,
  dataTmp: string,
): Promise<void> {
  const dataFile = newDataFileName();
  const dir = objectDir(ctx.root, info.bucket, info.key);
  const meta = JSON.stringify(infoToMeta(info, dataFile));
  const tmpMeta = await writeTempFile(ctx.root, 'meta', meta, ctx.fsync);
  try {
    await renameInto(ctx.root, dataTmp, dir, dataFile);
    const previous = await readMeta(ctx.root, info.bucket, info.key);
    await renameInto(ctx.root, tmpMeta, dir, META_FILE);
    if (ctx.fsync) await fsyncDir(dir);
    if (previous && previous.dataFile !== dataFile) {
      await fs.rm(path.join(dir, previous.dataFile), { force: true });
    }
  } catch (err) {
    await fs.rm(tmpMeta, { force: true });
    throw err;
  }
}
