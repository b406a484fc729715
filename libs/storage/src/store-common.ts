import { PreconditionFailedError } from './errors.js';
import type { ChangeEvent, ChangeListener, DeleteOptions, ObjectInfo } from './types.js';

/** Largest and default page size of `list`. */
export const MAX_PAGE_SIZE = 1000;

/** Clamps a requested page size to 1..1000 (default 1000). */
export function pageSize(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return MAX_PAGE_SIZE;
  return Math.max(1, Math.min(MAX_PAGE_SIZE, Math.floor(limit)));
}

/** The failed precondition of a delete, if any. */
export function checkPreconditions(
  node: string,
  info: ObjectInfo,
  options: DeleteOptions | undefined,
): PreconditionFailedError | undefined {
  if (options?.ifVersionId !== undefined && options.ifVersionId !== info.versionId) {
    return new PreconditionFailedError(
      node,
      info.bucket,
      info.key,
      'ifVersionId',
      options.ifVersionId,
      info.versionId,
    );
  }
  if (options?.ifMtime !== undefined && options.ifMtime !== info.mtime) {
    return new PreconditionFailedError(
      node,
      info.bucket,
      info.key,
      'ifMtime',
      options.ifMtime,
      info.mtime,
    );
  }
  return undefined;
}

/** Calls a change listener, never letting its exceptions break the write that succeeded. */
export function emitChange(listener: ChangeListener | undefined, event: ChangeEvent): void {
  if (!listener) return;
  try {
    listener(event);
  } catch {
    // A listener bug must not turn a durable write into a reported failure.
  }
}

/** `fn` over `items` with at most `limit` calls in flight; results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
