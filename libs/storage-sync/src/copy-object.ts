/**
 * Copies one object from a source node to a target node (streamed; up to 1 MiB
 * from a source that reads objects whole, such as a file node, through one
 * checked buffer instead), keeping its version
 * id, mtime, content type and user metadata, and verifies the copy: the
 * SHA-256 computed while writing must match the source's, and the committed
 * object (head, or a full re-read with `verify: 'deep'`) must be that version.
 * The target driver writes atomically (temp file, fsync, rename), so a failed
 * copy never leaves a partial object behind.
 */
import type { Readable } from 'node:stream';
import {
  BucketNotFoundError,
  ObjectCorruptedError,
  ObjectNotFoundError,
  type GetResult,
  type ObjectInfo,
  type ObjectStore,
} from '@rfw/storage';
import type { Bandwidth } from './bandwidth.js';
import { describeError, isNodeFault } from './node-errors.js';
import { sameContent, sameVersion } from './versions.js';

/** How a copy is checked after writing. */
export const CopyVerify = {
  /** Compare the SHA-256 computed while writing, and head the committed object. */
  Checksum: 'checksum',
  /** Also re-read every byte of the written object (SHA-256 and block CRCs). */
  Deep: 'deep',
} as const;
export type CopyVerify = (typeof CopyVerify)[keyof typeof CopyVerify];

/** Options of {@link copyObject}. */
export interface CopyOptions {
  source: ObjectStore;
  target: ObjectStore;
  bucket: string;
  key: string;
  /** The version the source must still hold; otherwise {@link CopySourceError} (`changed`). */
  expected: ObjectInfo;
  /** Shared bandwidth limit; none by default. */
  bandwidth?: Bandwidth;
  /** Aborts the transfer. */
  signal?: AbortSignal;
  /** @default 'checksum' */
  verify?: CopyVerify;
}

/** A finished, verified copy. */
export interface CopyResult {
  /** The object as committed on the target. */
  info: ObjectInfo;
  /** Bytes transferred. */
  bytes: number;
  /** Wall time of the transfer and verification, ms. */
  durationMs: number;
}

/** Why the source could not provide the object. */
export type SourceFailure = 'changed' | 'missing' | 'corrupt' | 'unavailable' | 'other';

/** The copy failed because of the source, not the target: try another source. */
export class CopySourceError extends Error {
  constructor(
    readonly node: string,
    readonly kind: SourceFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CopySourceError';
  }
}

/** The target committed something other than the source's bytes and version. */
export class CopyVerificationError extends Error {
  constructor(
    readonly node: string,
    message: string,
  ) {
    super(message);
    this.name = 'CopyVerificationError';
  }
}

function sourceError(node: string, err: unknown): CopySourceError {
  const kind: SourceFailure =
    err instanceof ObjectCorruptedError
      ? 'corrupt'
      : err instanceof ObjectNotFoundError
        ? 'missing'
        : isNodeFault(err)
          ? 'unavailable'
          : 'other';
  return new CopySourceError(node, kind, `source ${node}: ${describeError(err)}`, { cause: err });
}

async function openSource(o: CopyOptions): Promise<GetResult> {
  let src: GetResult;
  try {
    src = await o.source.get(o.bucket, o.key);
  } catch (err) {
    throw sourceError(o.source.id, err);
  }
  try {
    checkExpected(o, src.info);
  } catch (err) {
    src.body.destroy();
    throw err;
  }
  return src;
}

/** @throws CopySourceError (`changed`) when the source no longer holds the expected version */
function checkExpected(o: CopyOptions, info: ObjectInfo): void {
  if (!sameVersion(info, o.expected)) {
    throw new CopySourceError(
      o.source.id,
      'changed',
      `source ${o.source.id} now holds version ${info.versionId}, not ${o.expected.versionId}`,
    );
  }
}

/**
 * Copies `bucket/key` from `source` to `target` and verifies it. Creates the
 * bucket on the target when it is missing.
 * @throws CopySourceError when the source fails (unavailable, missing, corrupt while streaming, changed)
 * @throws CopyVerificationError when the committed copy does not match
 * @throws the target's storage errors (StorageUnavailableError, StorageFullError, InvalidMetadataError, ...)
 * @throws the signal's reason when aborted
 */
export async function copyObject(o: CopyOptions): Promise<CopyResult> {
  const started = performance.now();
  let createdBucket = false;
  for (;;) {
    o.signal?.throwIfAborted();
    let copied: { source: ObjectInfo; written: ObjectInfo };
    try {
      copied = (await copyWhole(o)) ?? (await copyStream(o));
    } catch (err) {
      if (err instanceof BucketNotFoundError && !createdBucket) {
        await o.target.createBucket(o.bucket);
        createdBucket = true;
        continue;
      }
      throw err;
    }
    const { source, written } = copied;
    const wantSha = source.sha256;
    if (written.size !== source.size || (wantSha !== '' && written.sha256 !== wantSha)) {
      throw new CopyVerificationError(
        o.target.id,
        `copy to ${o.target.id} wrote ${written.size} bytes with SHA-256 ${written.sha256}, expected ${source.size} bytes with ${wantSha}`,
      );
    }
    await checkCommitted(o, written);
    return { info: written, bytes: written.size, durationMs: performance.now() - started };
  }
}

const putOptions = (info: ObjectInfo) => ({
  versionId: info.versionId,
  mtime: info.mtime,
  contentType: info.contentType,
  userMetadata: info.userMetadata,
});

/** Objects up to this size are copied through one buffer when the source can read them whole. */
const WHOLE_COPY_BYTES = 1024 * 1024;
/** Piece of a buffered copy passed through the bandwidth limit at once (as its stream does). */
const BANDWIDTH_SLICE = 64 * 1024;

/** A source that reads a small object whole, checked (the file driver's `getWhole`). */
interface WholeReader {
  getWhole(
    bucket: string,
    key: string,
    maxBytes: number,
  ): Promise<{ info: ObjectInfo; data: Buffer } | undefined>;
}

function readsWhole(store: ObjectStore): store is ObjectStore & WholeReader {
  return typeof (store as Partial<WholeReader>).getWhole === 'function';
}

/**
 * The copy of a small object from a source that reads it whole: one checked read into a
 * buffer (size, block CRC32s and SHA-256 against the source's metadata), one buffered put.
 * @returns `undefined` when the source cannot (or the object is too big): stream it instead
 */
async function copyWhole(
  o: CopyOptions,
): Promise<{ source: ObjectInfo; written: ObjectInfo } | undefined> {
  if (o.expected.size > WHOLE_COPY_BYTES || !readsWhole(o.source)) return undefined;
  let got: { info: ObjectInfo; data: Buffer } | undefined;
  try {
    got = await o.source.getWhole(o.bucket, o.key, WHOLE_COPY_BYTES);
  } catch (err) {
    throw sourceError(o.source.id, err);
  }
  if (!got) return undefined;
  checkExpected(o, got.info);
  if (o.bandwidth) {
    for (let off = 0; off < got.data.length; off += BANDWIDTH_SLICE)
      await o.bandwidth.take(Math.min(BANDWIDTH_SLICE, got.data.length - off), o.signal);
  }
  o.signal?.throwIfAborted();
  const written = await o.target.put(o.bucket, o.key, got.data, putOptions(got.info));
  return { source: got.info, written };
}

/** The streamed copy: the source's verifying stream into the target's put. */
async function copyStream(o: CopyOptions): Promise<{ source: ObjectInfo; written: ObjectInfo }> {
  const src = await openSource(o);
  let sourceFailure: unknown;
  src.body.on('error', (err: unknown) => {
    sourceFailure ??= err;
  });
  const onAbort = (): void => {
    src.body.destroy(o.signal?.reason as Error);
  };
  o.signal?.addEventListener('abort', onAbort, { once: true });
  let body: Readable = src.body;
  if (o.bandwidth) {
    const throttled = o.bandwidth.stream(o.signal);
    src.body.on('error', (err: Error) => throttled.destroy(err));
    body = src.body.pipe(throttled);
  }
  try {
    return {
      source: src.info,
      written: await o.target.put(o.bucket, o.key, body, putOptions(src.info)),
    };
  } catch (err) {
    if (o.signal?.aborted) throw o.signal.reason;
    if (sourceFailure !== undefined) throw sourceError(o.source.id, sourceFailure);
    throw err;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    src.body.destroy();
  }
}

async function checkCommitted(o: CopyOptions, written: ObjectInfo): Promise<void> {
  const { target, bucket, key } = o;
  if ((o.verify ?? CopyVerify.Checksum) === CopyVerify.Deep) {
    const v = await target.verify(bucket, key, { deep: true });
    if (v.status !== 'ok' || !v.info || !sameVersion(v.info, written)) {
      throw new CopyVerificationError(
        target.id,
        `copy on ${target.id} does not verify: ${v.status}${v.info && v.info.versionId !== written.versionId ? ` (now version ${v.info.versionId})` : ''}`,
      );
    }
    return;
  }
  const head = await target.head(bucket, key);
  if (!head || head.versionId !== written.versionId || !sameContent(head, written)) {
    throw new CopyVerificationError(
      target.id,
      head
        ? `copy on ${target.id} reads back as version ${head.versionId} (${head.size} bytes), expected ${written.versionId}`
        : `copy on ${target.id} is not there after writing`,
    );
  }
}
