import { Transform, type TransformCallback } from 'node:stream';
import { ContentHasher } from './checksum.js';
import { ObjectCorruptedError } from './errors.js';
import type { ObjectInfo } from './types.js';

/**
 * A pass-through stream that checks the bytes flowing through it against `info`: each block
 * CRC32 as soon as the block is complete, then size and SHA-256 at the end. On mismatch the
 * stream fails with {@link ObjectCorruptedError} (so a consumer never silently gets bitrot).
 */
export function createVerifyingStream(node: string, info: ObjectInfo): Transform {
  const checkBlocks = info.blockSize > 0 && info.blockCrc32.length > 0;
  const hasher = new ContentHasher(checkBlocks ? info.blockSize : 1024 * 1024, false);
  let checked = 0;
  const corrupt = (
    kind: 'size' | 'sha256' | 'block-crc32',
    detail: string,
    block?: number,
  ): ObjectCorruptedError =>
    new ObjectCorruptedError(
      node,
      info.bucket,
      info.key,
      kind,
      detail,
      block === undefined ? undefined : { block },
    );

  const checkCompleted = (blocks: readonly number[]): ObjectCorruptedError | undefined => {
    if (!checkBlocks) return undefined;
    for (; checked < blocks.length; checked++) {
      if (blocks[checked] !== info.blockCrc32[checked]) {
        return corrupt('block-crc32', `block ${checked} CRC32 mismatch`, checked);
      }
    }
    return undefined;
  };

  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      hasher.update(chunk);
      if (hasher.size > info.size) {
        callback(corrupt('size', `more than the recorded ${info.size} bytes`));
        return;
      }
      const error = checkCompleted(hasher.completedBlocks);
      if (error) callback(error);
      else callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      const digest = hasher.digest();
      if (digest.size !== info.size) {
        callback(corrupt('size', `read ${digest.size} bytes, recorded ${info.size}`));
        return;
      }
      const error = checkCompleted(digest.blockCrc32);
      if (error) {
        callback(error);
        return;
      }
      if (info.sha256 !== '' && digest.sha256 !== info.sha256) {
        callback(
          corrupt('sha256', `SHA-256 ${digest.sha256} differs from recorded ${info.sha256}`),
        );
        return;
      }
      callback();
    },
  });
}
