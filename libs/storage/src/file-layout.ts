/**
 * On-disk layout of a file-driver node:
 *
 * ```
 * <root>/.rfw-tmp/                     in-flight writes (data, metadata, claimed deletes)
 * <root>/.rfw-multipart/<uploadId>/    partial uploads: upload.json + part-00001 ...
 * <root>/<bucket>/<key segments...>/   one directory per object key, holding
 *     .rfw.meta.json                   the metadata sidecar (the commit point)
 *     .rfw.data.<id>                   the content, named in the metadata
 * ```
 *
 * An object is visible only when `.rfw.meta.json` exists, parses and names this bucket/key.
 * Keys `a` and `a/b` coexist: `a/` holds a's files plus the directory `b/`.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { readUpTo } from './file-read.js';
import type { ObjectInfo } from './types.js';

/** Sidecars up to this size are read in one call; bigger ones (much user metadata) in several. */
const META_READ_BYTES = 16 * 1024;

/** Temp area for in-flight writes, inside the node dir (same file system, so rename is atomic). */
export const TMP_DIR = '.rfw-tmp';
/** Partial (multipart) uploads. */
export const MULTIPART_DIR = '.rfw-multipart';
/** Metadata sidecar file name inside an object directory. */
export const META_FILE = '.rfw.meta.json';
/** Prefix of data file names inside an object directory. */
export const DATA_FILE_PREFIX = '.rfw.data.';
/** Format tag written into every metadata sidecar. */
export const META_FORMAT = 'rfw-object/1';

const metaSchema = z.object({
  format: z.literal(META_FORMAT),
  bucket: z.string(),
  key: z.string(),
  size: z.number().int().nonnegative(),
  sha256: z.string(),
  blockSize: z.number().int().nonnegative(),
  blockCrc32: z.array(z.number().int().nonnegative()),
  mtime: z.number().int().nonnegative(),
  etag: z.string(),
  versionId: z.string(),
  contentType: z.string(),
  userMetadata: z.record(z.string(), z.string()),
  dataFile: z.string().startsWith(DATA_FILE_PREFIX),
});

/** The JSON stored in `.rfw.meta.json`. */
export type StoredMeta = z.infer<typeof metaSchema>;

/** Directory of a bucket. */
export function bucketDir(root: string, bucket: string): string {
  return path.join(root, bucket);
}

/** Directory of an object (key must already be validated). */
export function objectDir(root: string, bucket: string, key: string): string {
  return path.join(root, bucket, ...key.split('/'));
}

/** A fresh unique data file name. */
export function newDataFileName(): string {
  return `${DATA_FILE_PREFIX}${randomUUID()}`;
}

/** A fresh unique temp file path. */
export function newTempPath(root: string, suffix: string): string {
  return path.join(root, TMP_DIR, `${randomUUID()}.${suffix}`);
}

/** Parses metadata text; `undefined` when it is not a valid sidecar for `bucket`/`key`. */
export function parseMeta(text: string, bucket: string, key: string): StoredMeta | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = metaSchema.safeParse(json);
  if (!parsed.success) return undefined;
  if (parsed.data.bucket !== bucket || parsed.data.key !== key) return undefined;
  return parsed.data;
}

/** The public view of stored metadata. */
export function metaToInfo(meta: StoredMeta): ObjectInfo {
  return {
    bucket: meta.bucket,
    key: meta.key,
    size: meta.size,
    sha256: meta.sha256,
    blockSize: meta.blockSize,
    blockCrc32: [...meta.blockCrc32],
    mtime: meta.mtime,
    etag: meta.etag,
    versionId: meta.versionId,
    contentType: meta.contentType,
    userMetadata: { ...meta.userMetadata },
  };
}

/** Builds the sidecar content for `info` stored in `dataFile`. */
export function infoToMeta(info: ObjectInfo, dataFile: string): StoredMeta {
  return { format: META_FORMAT, ...info, dataFile };
}

/** Reads an object's sidecar; `undefined` when absent or invalid. Other fs errors propagate. */
export async function readMeta(
  root: string,
  bucket: string,
  key: string,
): Promise<StoredMeta | undefined> {
  const file = path.join(objectDir(root, bucket, key), META_FILE);
  let text: string;
  try {
    const { data, more } = await readUpTo(file, META_READ_BYTES);
    text = more ? await fs.readFile(file, 'utf8') : data.toString('utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR') || isErrno(err, 'EISDIR'))
      return undefined;
    throw err;
  }
  return parseMeta(text, bucket, key);
}

/** Writes `data` to a temp file in the node's temp area and fsyncs it; returns the temp path. */
export async function writeTempFile(
  root: string,
  suffix: string,
  data: string | Uint8Array,
  fsync: boolean,
): Promise<string> {
  const tmp = newTempPath(root, suffix);
  const fh = await fs.open(tmp, 'wx');
  try {
    await fh.writeFile(data);
    if (fsync) await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  return tmp;
}

/** fsyncs a directory so renames into it are durable (best effort). */
export async function fsyncDir(dir: string): Promise<void> {
  let fh: fs.FileHandle | undefined;
  try {
    fh = await fs.open(dir, 'r');
    await fh.sync();
  } catch {
    // Some file systems refuse fsync on directories; the rename itself is still atomic.
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/**
 * Creates `dir` and its missing parents below `root`, one level at a time, never `root`
 * itself: a node directory that was removed (or moved away) under a write in flight fails
 * the write with `ENOENT` instead of coming back empty.
 */
export async function mkdirBelow(root: string, dir: string): Promise<void> {
  const rel = path.relative(root, dir);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel))
    throw new Error(`${dir} is not below ${root}`);
  let current = root;
  for (const part of rel.split(path.sep)) {
    current = path.join(current, part);
    try {
      await fs.mkdir(current);
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
    }
  }
}

/**
 * Renames `from` to `dir/name` (`dir` below the node directory `root`), creating `dir`
 * when it is missing (with `mkdirBelow`: never `root`). Retries when a concurrent delete
 * removed the freshly created (empty) directory in between; a `from` that vanished fails.
 */
export async function renameInto(
  root: string,
  from: string,
  dir: string,
  name: string,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await fs.rename(from, path.join(dir, name));
      return;
    } catch (err) {
      if (!isErrno(err, 'ENOENT') || attempt >= 5) throw err;
      await fs.access(from);
      await mkdirBelow(root, dir);
    }
  }
}

/** Removes now-empty directories from `dir` up to (not including) `stopAt`. */
export async function pruneEmptyDirs(dir: string, stopAt: string): Promise<void> {
  let current = dir;
  while (current.length > stopAt.length && current.startsWith(stopAt + path.sep)) {
    try {
      await fs.rmdir(current);
    } catch {
      return;
    }
    current = path.dirname(current);
  }
}

/** Whether `err` is a Node errno error with this code. */
export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

/** The errno code of `err`, if any. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}
