/**
 * Deterministic ids of fanned-out replication jobs: the same object version
 * always maps to the same id, so a resync that is re-run (redelivered after a
 * crash, or scheduled twice) schedules nothing twice while the first job is
 * still waiting. Ids match `[A-Za-z0-9_-]{1,128}` whatever the key's length.
 */
import { createHash } from 'node:crypto';

const hex = (s: string, n: number): string =>
  createHash('sha256').update(s).digest('hex').slice(0, n);

/**
 * `repl-<40 hex of sha256(bucket, key, versionId)>`, or with `salt` (the
 * resync job id) `repl-<40 hex>-<12 hex of sha256(salt)>`: used when the
 * plain id already belongs to a finished job, so the object is replicated
 * again exactly once per resync run.
 */
export function replicationJobId(
  bucket: string,
  key: string,
  versionId: string,
  salt?: string,
): string {
  const base = `repl-${hex(`${bucket}\0${key}\0${versionId}`, 40)}`;
  return salt === undefined ? base : `${base}-${hex(salt, 12)}`;
}
