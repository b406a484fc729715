/**
 * Walks one bucket across several nodes at once, in key order: each page
 * holds every key (up to the page boundary) with the replica each node
 * listed, so a key present on any node is seen exactly once. Resumable from
 * any key (`after`), which is what a checkpoint stores.
 */
import {
  BucketNotFoundError,
  compareKeys,
  type ListOptions,
  type ListResult,
  type ObjectInfo,
  type ObjectStore,
} from '@rfw/storage';

/** One key and the replicas the nodes listed for it. */
export interface WalkEntry {
  key: string;
  /** Node id -> the object that node holds. */
  replicas: Map<string, ObjectInfo>;
}

/** Options of {@link walkBucket}. */
export interface WalkOptions {
  stores: readonly ObjectStore[];
  bucket: string;
  /** Only keys starting with this. */
  prefix?: string;
  /** Start after this key (exclusive): a checkpoint. */
  after?: string;
  /** Keys listed per node per request. @default 500 */
  pageSize?: number;
  /**
   * Lists one page of one node. Default: `store.list()`, with a missing
   * bucket read as empty. Wrap it to route calls through a breaker, or to
   * skip a node that is down (return an empty page).
   */
  list?: (store: ObjectStore, options: ListOptions) => Promise<ListResult>;
}

/** `store.list()`, reading a bucket the node does not have as empty. */
export async function listOrEmpty(store: ObjectStore, options: ListOptions): Promise<ListResult> {
  try {
    return await store.list(options);
  } catch (err) {
    if (err instanceof BucketNotFoundError) return { objects: [] };
    throw err;
  }
}

interface Cursor {
  store: ObjectStore;
  buffer: ObjectInfo[];
  next: string | undefined;
  done: boolean;
}

/**
 * Yields pages of entries in key order (UTF-8 byte order), each key once.
 * A page ends at the smallest last key any unfinished node returned, so no
 * node can still hold a smaller key that was not seen.
 * @throws whatever `list` throws
 */
export async function* walkBucket(o: WalkOptions): AsyncGenerator<WalkEntry[]> {
  const list = o.list ?? listOrEmpty;
  const limit = o.pageSize ?? 500;
  const cursors: Cursor[] = o.stores.map((store) => ({
    store,
    buffer: [],
    next: o.after,
    done: false,
  }));
  for (;;) {
    await Promise.all(
      cursors
        .filter((c) => !c.done && c.buffer.length === 0)
        .map(async (c) => {
          const page = await list(c.store, {
            bucket: o.bucket,
            prefix: o.prefix,
            cursor: c.next,
            limit,
          });
          c.buffer = page.objects;
          c.next = page.nextCursor;
          c.done = page.nextCursor === undefined || page.objects.length === 0;
        }),
    );
    // Keys up to `bound` are complete: every unfinished node has listed past them.
    let bound: string | undefined;
    for (const c of cursors) {
      if (c.done) continue;
      const last = c.buffer[c.buffer.length - 1]?.key;
      if (last !== undefined && (bound === undefined || compareKeys(last, bound) < 0)) bound = last;
    }
    const byKey = new Map<string, Map<string, ObjectInfo>>();
    for (const c of cursors) {
      let taken = 0;
      for (const info of c.buffer) {
        if (bound !== undefined && compareKeys(info.key, bound) > 0) break;
        let replicas = byKey.get(info.key);
        if (!replicas) byKey.set(info.key, (replicas = new Map()));
        replicas.set(c.store.id, info);
        taken++;
      }
      c.buffer = c.buffer.slice(taken);
    }
    if (byKey.size > 0) {
      yield [...byKey.entries()]
        .sort(([a], [b]) => compareKeys(a, b))
        .map(([key, replicas]) => ({ key, replicas }));
    }
    if (cursors.every((c) => c.done && c.buffer.length === 0)) return;
  }
}

/** Counts the keys {@link walkBucket} would yield (optionally only those `accept` keeps). */
export async function countKeys(
  o: WalkOptions,
  accept: (key: string) => boolean = () => true,
): Promise<number> {
  let n = 0;
  for await (const page of walkBucket(o)) for (const e of page) if (accept(e.key)) n++;
  return n;
}
