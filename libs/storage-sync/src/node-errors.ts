/**
 * Which storage failures are a node's fault (and so count against its
 * circuit breaker), and the breaker-aware wrapper every node call goes through.
 */
import {
  InvalidBucketError,
  InvalidKeyError,
  InvalidMetadataError,
  StorageFullError,
  StorageUnavailableError,
} from '@rfw/storage';

/** The node cannot serve (gone, unreachable, read-only, full): retry later, elsewhere, or after it returns. */
export function isNodeFault(err: unknown): boolean {
  return err instanceof StorageUnavailableError || err instanceof StorageFullError;
}

/** Rejected because the node's breaker is open (opossum's `EOPENBREAKER`). */
export function isOpenBreaker(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'EOPENBREAKER';
}

/** The node is unusable now: a node fault or an open breaker. */
export function isUnavailable(err: unknown): boolean {
  return isNodeFault(err) || isOpenBreaker(err);
}

/** Errors that no retry can fix (bad names, metadata the target refuses). */
export function isPermanent(err: unknown): boolean {
  return (
    err instanceof InvalidKeyError ||
    err instanceof InvalidBucketError ||
    err instanceof InvalidMetadataError
  );
}

/** A one-line description of an error. */
export function describeError(err: unknown): string {
  if (isOpenBreaker(err)) return 'circuit breaker open';
  if (err instanceof Error) return err.message || err.name;
  return typeof err === 'string' ? err : JSON.stringify(err);
}

/** Runs a call through a circuit breaker keyed by node (a `WorkerContext.guard`). */
export type NodeGuard = <T>(node: string, fn: () => Promise<T>) => Promise<T>;

/**
 * Calls `fn` through `guard(node)`, so that only node faults count against the
 * node's breaker: any other error (a missing object, a corrupt source stream,
 * a bad key) passes through the breaker as a success and is rethrown after it.
 * Rejects with the breaker's `EOPENBREAKER` error while the breaker is open.
 */
export async function onNode<T>(guard: NodeGuard, node: string, fn: () => Promise<T>): Promise<T> {
  let other: { err: unknown } | undefined;
  const value = await guard(node, async () => {
    try {
      return await fn();
    } catch (err) {
      if (isNodeFault(err)) throw err;
      other = { err };
      return undefined as T;
    }
  });
  if (other) throw other.err;
  return value;
}

/** A guard without breakers (for tools and tests). */
export const unguarded: NodeGuard = (_node, fn) => fn();
