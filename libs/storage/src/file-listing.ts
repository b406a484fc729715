import fs from 'node:fs/promises';
import path from 'node:path';
import { isErrno, readMeta, type StoredMeta } from './file-layout.js';
import { RESERVED_SEGMENT_PREFIX, compareKeys } from './validation.js';

interface WalkItem {
  /** `key` for an object candidate, `key/` for the subtree below it. */
  sortKey: string;
  dir: string;
  subtree: boolean;
}

/** Options of {@link walkObjects}. */
export interface WalkOptions {
  prefix?: string;
  /** Yield only keys strictly greater than this. */
  cursor?: string;
}

/**
 * Yields the visible objects of a bucket directory in UTF-8 key order.
 *
 * Each child directory `n` stands for two sort items, the object `n` and the subtree `n/`;
 * sorting those items (not plain names) gives global key order, e.g. `a` < `a-x` < `a-x/...` < `a/...`.
 * Subtrees outside the prefix, or wholly at/before the cursor, are not descended.
 */
export async function* walkObjects(
  root: string,
  bucket: string,
  options: WalkOptions = {},
): AsyncGenerator<StoredMeta, void, undefined> {
  const prefix = options.prefix ?? '';
  const cursor = options.cursor;
  yield* walkDir(root, bucket, path.join(root, bucket), '', prefix, cursor);
}

async function* walkDir(
  root: string,
  bucket: string,
  dir: string,
  keyPrefix: string,
  prefix: string,
  cursor: string | undefined,
): AsyncGenerator<StoredMeta, void, undefined> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return;
    throw err;
  }
  const items: WalkItem[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith(RESERVED_SEGMENT_PREFIX)) continue;
    const key = keyPrefix + entry.name;
    const childDir = path.join(dir, entry.name);
    items.push({ sortKey: key, dir: childDir, subtree: false });
    items.push({ sortKey: `${key}/`, dir: childDir, subtree: true });
  }
  items.sort((a, b) => compareKeys(a.sortKey, b.sortKey));
  for (const item of items) {
    if (item.subtree) {
      const p = item.sortKey;
      if (!p.startsWith(prefix) && !prefix.startsWith(p)) continue;
      if (cursor !== undefined && compareKeys(cursor, p) >= 0 && !cursor.startsWith(p)) continue;
      yield* walkDir(root, bucket, item.dir, p, prefix, cursor);
    } else {
      const key = item.sortKey;
      if (!key.startsWith(prefix)) continue;
      if (cursor !== undefined && compareKeys(key, cursor) <= 0) continue;
      const meta = await readMeta(root, bucket, key);
      if (meta) yield meta;
    }
  }
}
