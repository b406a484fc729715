/**
 * Comparing replicas of one object. Content is compared by size and SHA-256
 * (never by ETag, except for objects written by a foreign S3 client, which
 * carry no checksum); versions by modification time, then version id
 * (UUIDv7 ids sort by time).
 */
import type { ObjectInfo } from '@rfw/storage';

type Versioned = Pick<ObjectInfo, 'mtime' | 'versionId'>;
type Content = Pick<ObjectInfo, 'size' | 'sha256' | 'etag'>;

/** Positive when `a` is a newer version than `b`, negative when older, 0 when the same. */
export function compareVersions(a: Versioned, b: Versioned): number {
  if (a.mtime !== b.mtime) return a.mtime - b.mtime;
  return a.versionId < b.versionId ? -1 : a.versionId > b.versionId ? 1 : 0;
}

/** Same bytes: equal size and SHA-256 (ETag only when neither side recorded a checksum). */
export function sameContent(a: Content, b: Content): boolean {
  if (a.size !== b.size) return false;
  if (a.sha256 !== '' && b.sha256 !== '') return a.sha256 === b.sha256;
  if (a.sha256 === '' && b.sha256 === '') return a.etag === b.etag;
  return false;
}

/** Same version with the same bytes: what makes a replica identical to another. */
export function sameVersion(a: Versioned & Content, b: Versioned & Content): boolean {
  return a.versionId === b.versionId && sameContent(a, b);
}

/** The newest of `infos` (undefined when empty). */
export function newest<T extends Versioned>(infos: Iterable<T>): T | undefined {
  let best: T | undefined;
  for (const i of infos) if (best === undefined || compareVersions(i, best) > 0) best = i;
  return best;
}
