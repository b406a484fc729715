import { isIP } from 'node:net';
import {
  InvalidBucketError,
  InvalidBucketReason,
  InvalidKeyError,
  InvalidKeyReason,
  InvalidMetadataError,
} from './errors.js';
import type { PutOptions } from './types.js';

/** Longest key, in UTF-8 bytes (S3 limit). */
export const MAX_KEY_BYTES = 1024;
/** Longest `/`-separated key segment, in UTF-8 bytes (file-system name limit). */
export const MAX_SEGMENT_BYTES = 255;
/**
 * Key segments starting with this are reserved for the file driver's own files
 * (`.rfw.meta.json`, `.rfw.data.*`) and rejected on every driver, so both accept the same keys.
 */
export const RESERVED_SEGMENT_PREFIX = '.rfw.';
/** User-metadata names starting with this are reserved for checksums and versions. */
export const RESERVED_METADATA_PREFIX = 'rfw-';
/** Budget for user metadata (names + values, bytes): S3 allows 2 KiB and the rest carries checksums. */
export const MAX_USER_METADATA_BYTES = 1024;

const BUCKET_CHARSET = /^[a-z0-9.-]+$/;
const BUCKET_EDGE = /^[a-z0-9].*[a-z0-9]$/;
const RESERVED_BUCKET_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'];
const RESERVED_BUCKET_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'];

/**
 * Checks a bucket name against the S3 general-purpose bucket naming rules.
 * @throws InvalidBucketError with the broken rule as `reason`
 */
export function validateBucketName(bucket: string): void {
  if (typeof bucket !== 'string' || bucket.length < 3 || bucket.length > 63) {
    throw new InvalidBucketError(String(bucket), InvalidBucketReason.Length);
  }
  if (!BUCKET_CHARSET.test(bucket))
    throw new InvalidBucketError(bucket, InvalidBucketReason.Charset);
  if (!BUCKET_EDGE.test(bucket)) throw new InvalidBucketError(bucket, InvalidBucketReason.Edge);
  if (bucket.includes('..')) throw new InvalidBucketError(bucket, InvalidBucketReason.AdjacentDots);
  if (isIP(bucket) !== 0) throw new InvalidBucketError(bucket, InvalidBucketReason.IpAddress);
  if (RESERVED_BUCKET_PREFIXES.some((p) => bucket.startsWith(p))) {
    throw new InvalidBucketError(bucket, InvalidBucketReason.ReservedPrefix);
  }
  if (RESERVED_BUCKET_SUFFIXES.some((s) => bucket.endsWith(s))) {
    throw new InvalidBucketError(bucket, InvalidBucketReason.ReservedSuffix);
  }
}

/** True when `s` has no unpaired UTF-16 surrogate (so it round-trips through UTF-8). */
function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return false;
    }
  }
  return true;
}

/**
 * Checks an object key: 1..1024 UTF-8 bytes, no NUL, control characters or backslashes,
 * not absolute, no empty / `.` / `..` segments, no segment over 255 bytes, no reserved
 * `.rfw.` segment.
 * @throws InvalidKeyError with the broken rule as `reason`
 */
export function validateKey(bucket: string, key: string): void {
  const fail = (reason: InvalidKeyReason): never => {
    throw new InvalidKeyError(bucket, String(key), reason);
  };
  if (typeof key !== 'string' || key.length === 0) fail(InvalidKeyReason.Empty);
  if (!isWellFormed(key)) fail(InvalidKeyReason.InvalidUtf16);
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) fail(InvalidKeyReason.TooLong);
  if (key.includes('\0')) fail(InvalidKeyReason.NulByte);
  // eslint-disable-next-line no-control-regex
  if (/[\x01-\x1f\x7f]/.test(key)) fail(InvalidKeyReason.ControlCharacter);
  if (key.includes('\\')) fail(InvalidKeyReason.Backslash);
  if (key.startsWith('/')) fail(InvalidKeyReason.Absolute);
  for (const segment of key.split('/')) {
    if (segment === '') fail(InvalidKeyReason.EmptySegment);
    if (segment === '.') fail(InvalidKeyReason.DotSegment);
    if (segment === '..') fail(InvalidKeyReason.DotDotSegment);
    if (segment.startsWith(RESERVED_SEGMENT_PREFIX)) fail(InvalidKeyReason.ReservedSegment);
    if (Buffer.byteLength(segment, 'utf8') > MAX_SEGMENT_BYTES)
      fail(InvalidKeyReason.SegmentTooLong);
  }
}

const METADATA_NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const VERSION_ID = /^[A-Za-z0-9._:+=-]{1,200}$/;

/** Validated and normalised put options (metadata names lower-cased). */
export interface NormalizedPutOptions {
  contentType: string;
  userMetadata: Record<string, string>;
  versionId: string | undefined;
  mtime: number | undefined;
}

/**
 * Validates put options so that every driver accepts exactly the same input.
 * @throws InvalidMetadataError
 */
export function normalizePutOptions(options: PutOptions | undefined): NormalizedPutOptions {
  const contentType = options?.contentType ?? 'application/octet-stream';
  if (contentType.length === 0 || contentType.length > 256 || !PRINTABLE_ASCII.test(contentType)) {
    throw new InvalidMetadataError('contentType', 'must be 1..256 printable ASCII characters');
  }
  const userMetadata: Record<string, string> = {};
  let bytes = 0;
  for (const [rawName, value] of Object.entries(options?.userMetadata ?? {})) {
    const name = rawName.toLowerCase();
    if (!METADATA_NAME.test(name)) {
      throw new InvalidMetadataError(name, 'name must match [a-z0-9][a-z0-9._-]{0,127}');
    }
    if (name.startsWith(RESERVED_METADATA_PREFIX))
      throw new InvalidMetadataError(name, 'reserved name prefix rfw-');
    if (name in userMetadata)
      throw new InvalidMetadataError(name, 'duplicate name (names are case-insensitive)');
    if (typeof value !== 'string' || !PRINTABLE_ASCII.test(value) || value.trim() !== value) {
      throw new InvalidMetadataError(
        name,
        'value must be printable ASCII without surrounding spaces',
      );
    }
    userMetadata[name] = value;
    bytes += name.length + value.length;
  }
  if (bytes > MAX_USER_METADATA_BYTES) {
    throw new InvalidMetadataError(
      'userMetadata',
      `total size ${bytes} exceeds ${MAX_USER_METADATA_BYTES} bytes`,
    );
  }
  const versionId = options?.versionId;
  if (versionId !== undefined && !VERSION_ID.test(versionId)) {
    throw new InvalidMetadataError('versionId', 'must be 1..200 characters of [A-Za-z0-9._:+=-]');
  }
  const mtime = options?.mtime;
  if (mtime !== undefined && (!Number.isSafeInteger(mtime) || mtime < 0)) {
    throw new InvalidMetadataError('mtime', 'must be a non-negative integer (ms since the epoch)');
  }
  return { contentType, userMetadata, versionId, mtime };
}

/** Compares two keys in UTF-8 byte order (the order S3 lists in). */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** Maps a UTF-16 code unit so that surrogates (code points >= U+10000) sort after U+E000..U+FFFF, as in UTF-8. */
function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}
