/**
 * The logical view of a bucket over several storage nodes: a merged,
 * key-ordered listing in which each key carries its newest version, and the
 * newest copy of one object.
 */
import {
  BucketNotFoundError,
  StorageUnavailableError,
  compareKeys,
  type ObjectInfo,
  type ObjectStore,
} from '@rfw/storage';
import { CANARY_PREFIX } from './index-types.js';

/** Whether `a` is a newer version than `b` (mtime, then version id: UUIDv7 sort by time). */
export function isNewer(a: ObjectInfo, b: ObjectInfo): boolean {
  if (a.mtime !== b.mtime) return a.mtime > b.mtime;
  return a.versionId > b.versionId;
}

/** One merged page. */
export interface MergedPage {
  /** Newest version of each key in (cursor, to], in key order (canary objects left out). */
  objects: ObjectInfo[];
  /** Last key covered; `undefined` when the listing reached the end of every node. */
  to?: string;
  /** Nodes that failed while listing this page (they are left out from now on). */
  failed: Array<{ node: string; error: Error }>;
}

/**
 * Lists `bucket` on every given node, merged by key. A node without the bucket contributes
 * nothing; a node that is unavailable is reported in `failed` and dropped (a listing missing a
 * node is incomplete: callers must then not delete what they did not see).
 */
export class MergedLister {
  private readonly active: ObjectStore[];

  constructor(
    nodes: ObjectStore[],
    readonly bucket: string,
    private readonly pageSize: number,
  ) {
    this.active = [...nodes];
  }

  /** Nodes still listed. */
  get nodes(): readonly ObjectStore[] {
    return this.active;
  }

  async page(cursor: string | undefined): Promise<MergedPage> {
    const failed: MergedPage['failed'] = [];
    const results = await Promise.all(
      this.active.map(async (store) => {
        try {
          return {
            store,
            page: await store.list({ bucket: this.bucket, cursor, limit: this.pageSize }),
          };
        } catch (err) {
          if (err instanceof BucketNotFoundError)
            return { store, page: { objects: [] as ObjectInfo[] } };
          failed.push({ node: store.id, error: err as Error });
          return undefined;
        }
      }),
    );
    for (const f of failed) {
      const i = this.active.findIndex((s) => s.id === f.node);
      if (i >= 0) this.active.splice(i, 1);
    }
    // A node that may have more keys bounds the page at its last key: beyond it we have not
    // seen that node's keys yet.
    let to: string | undefined;
    for (const r of results) {
      if (r?.page.nextCursor === undefined) continue;
      if (to === undefined || compareKeys(r.page.nextCursor, to) < 0) to = r.page.nextCursor;
    }
    const newest = new Map<string, ObjectInfo>();
    for (const r of results) {
      for (const o of r?.page.objects ?? []) {
        if (to !== undefined && compareKeys(o.key, to) > 0) continue;
        const seen = newest.get(o.key);
        if (!seen || isNewer(o, seen)) newest.set(o.key, o);
      }
    }
    const objects = [...newest.values()]
      .filter((o) => !o.key.startsWith(CANARY_PREFIX))
      .sort((a, b) => compareKeys(a.key, b.key));
    return { objects, to, failed };
  }
}

/** Result of {@link headNewest}. */
export interface HeadResult {
  /** The newest copy, if any node holds the object. */
  info?: ObjectInfo;
  /** Nodes that answered. */
  answered: number;
  /** Nodes that could not be asked. */
  failed: Array<{ node: string; error: Error }>;
}

/** Reads one object's metadata on every node and keeps the newest copy. */
export async function headNewest(
  nodes: ObjectStore[],
  bucket: string,
  key: string,
): Promise<HeadResult> {
  const out: HeadResult = { answered: 0, failed: [] };
  await Promise.all(
    nodes.map(async (store) => {
      try {
        const info = await store.head(bucket, key);
        out.answered++;
        if (info && (!out.info || isNewer(info, out.info))) out.info = info;
      } catch (err) {
        if (err instanceof StorageUnavailableError || !(err instanceof Error)) {
          out.failed.push({ node: store.id, error: err as Error });
          return;
        }
        throw err;
      }
    }),
  );
  return out;
}
