import fs from 'node:fs/promises';
import path from 'node:path';
import {
  META_FILE,
  bucketDir,
  fsyncDir,
  isErrno,
  metaToInfo,
  newTempPath,
  objectDir,
  parseMeta,
  pruneEmptyDirs,
  type StoredMeta,
} from './file-layout.js';
import { checkPreconditions } from './store-common.js';
import type { DeleteOptions, ObjectInfo } from './types.js';

/** What {@link deleteObjectFiles} needs from the store. */
export interface DeleteContext {
  id: string;
  root: string;
  fsync: boolean;
  /** @throws StorageUnavailableError when the node directory is gone */
  checkRoot(): Promise<void>;
}

/**
 * Claims the metadata by renaming it into the temp area (atomic against other processes),
 * checks the preconditions on the claimed copy, and either finishes the delete or puts the
 * metadata back with `link` (which fails if a newer put landed meanwhile: the newer wins).
 */
export async function deleteObjectFiles(
  ctx: DeleteContext,
  bucket: string,
  key: string,
  options?: DeleteOptions,
): Promise<ObjectInfo | undefined> {
  const dir = objectDir(ctx.root, bucket, key);
  const metaPath = path.join(dir, META_FILE);
  const claimed = newTempPath(ctx.root, 'deleting');
  try {
    await fs.rename(metaPath, claimed);
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) {
      await ctx.checkRoot();
      return undefined;
    }
    throw err;
  }
  const meta: StoredMeta | undefined = parseMeta(await fs.readFile(claimed, 'utf8'), bucket, key);
  const conditional = options?.ifVersionId !== undefined || options?.ifMtime !== undefined;
  const failure = meta ? checkPreconditions(ctx.id, metaToInfo(meta), options) : undefined;
  // Unreadable metadata is no visible object: a conditional delete leaves it for healing.
  if (failure || (!meta && conditional)) {
    try {
      await fs.link(claimed, metaPath);
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
      // A newer put replaced the object while we held the claim; our version is garbage now.
      if (meta) await fs.rm(path.join(dir, meta.dataFile), { force: true });
    }
    await fs.rm(claimed, { force: true });
    if (failure) throw failure;
    return undefined;
  }
  if (meta) {
    await fs.rm(path.join(dir, meta.dataFile), { force: true });
  }
  await fs.rm(claimed, { force: true });
  if (ctx.fsync) await fsyncDir(dir);
  await pruneEmptyDirs(dir, bucketDir(ctx.root, bucket));
  return meta ? metaToInfo(meta) : undefined;
}
