import type { ObjectInfo } from './types.js';

/** User-metadata names (sent as `x-amz-meta-<name>`) that carry rfw's own fields. */
export const S3_META = {
  sha256: 'rfw-sha256',
  size: 'rfw-size',
  blockSize: 'rfw-block-size',
  blockCrc32: 'rfw-block-crc32',
  versionId: 'rfw-version-id',
  mtime: 'rfw-mtime',
} as const;

/**
 * Most block CRCs kept in S3 metadata: S3 allows 2 KiB of user metadata in all, so the CRC list
 * (base64 of big-endian uint32s) is capped at 96 entries (512 chars) by doubling the block size.
 */
export const MAX_S3_BLOCKS = 96;

/** Encodes block CRCs as base64 of big-endian uint32s. */
export function encodeCrcs(crcs: readonly number[]): string {
  const buf = Buffer.alloc(crcs.length * 4);
  crcs.forEach((c, i) => buf.writeUInt32BE(c >>> 0, i * 4));
  return buf.toString('base64');
}

/** Inverse of {@link encodeCrcs}; `[]` for missing or malformed input. */
export function decodeCrcs(text: string | undefined): number[] {
  if (!text) return [];
  const buf = Buffer.from(text, 'base64');
  if (buf.length % 4 !== 0) return [];
  const out: number[] = [];
  for (let i = 0; i < buf.length; i += 4) out.push(buf.readUInt32BE(i));
  return out;
}

/** The full S3 user metadata for an object: the caller's plus rfw's checksums and version. */
export function toS3Metadata(info: ObjectInfo): Record<string, string> {
  const meta: Record<string, string> = {
    ...info.userMetadata,
    [S3_META.sha256]: info.sha256,
    [S3_META.size]: String(info.size),
    [S3_META.blockSize]: String(info.blockSize),
    [S3_META.versionId]: info.versionId,
    [S3_META.mtime]: String(info.mtime),
  };
  if (info.blockCrc32.length > 0) meta[S3_META.blockCrc32] = encodeCrcs(info.blockCrc32);
  return meta;
}

/** What HeadObject / GetObject return that matters here. */
export interface S3ObjectHeaders {
  ContentLength?: number;
  ContentType?: string;
  ETag?: string;
  LastModified?: Date;
  Metadata?: Record<string, string>;
}

function intOr(text: string | undefined, fallback: number): number {
  if (text === undefined || !/^\d+$/.test(text)) return fallback;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : fallback;
}

/**
 * Builds {@link ObjectInfo} from S3 response headers. Objects written without rfw metadata get
 * `sha256: ''`, no blocks, the S3 mtime and the ETag as version id.
 */
export function fromS3Headers(bucket: string, key: string, h: S3ObjectHeaders): ObjectInfo {
  const raw = h.Metadata ?? {};
  const userMetadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    const lower = name.toLowerCase();
    if (!lower.startsWith('rfw-')) userMetadata[lower] = value;
  }
  const get = (name: string): string | undefined => raw[name] ?? raw[name.toUpperCase()];
  const etag = (h.ETag ?? '').replace(/^W\//, '').replace(/"/g, '');
  const sha256 = get(S3_META.sha256) ?? '';
  const blockCrc32 = decodeCrcs(get(S3_META.blockCrc32));
  return {
    bucket,
    key,
    size: h.ContentLength ?? intOr(get(S3_META.size), 0),
    sha256: /^[0-9a-f]{64}$/.test(sha256) ? sha256 : '',
    blockSize: intOr(get(S3_META.blockSize), 0),
    blockCrc32,
    mtime: intOr(get(S3_META.mtime), h.LastModified?.getTime() ?? 0),
    etag,
    versionId: get(S3_META.versionId) ?? etag,
    contentType: h.ContentType ?? 'application/octet-stream',
    userMetadata,
  };
}

/** The size recorded at write time (may differ from the stored size after tampering). */
export function recordedSize(h: S3ObjectHeaders): number | undefined {
  const text = h.Metadata?.[S3_META.size];
  return text === undefined ? undefined : intOr(text, -1);
}
