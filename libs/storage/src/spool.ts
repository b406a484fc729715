import fs from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { ContentHasher, type ContentDigest } from './checksum.js';

/**
 * Streams `body` into a new file at `filePath` (which must not exist), computing size,
 * SHA-256, MD5 and block CRC32s on the way, and fsyncs it when asked. On failure the file
 * is removed and the error rethrown.
 */
export async function writeBodyToFile(
  body: Readable | Buffer,
  filePath: string,
  blockSize: number,
  fsync: boolean,
): Promise<ContentDigest> {
  const hasher = new ContentHasher(blockSize);
  const fh = await fs.open(filePath, 'wx');
  try {
    if (Buffer.isBuffer(body)) {
      hasher.update(body);
      await fh.writeFile(body);
    } else {
      for await (const chunk of body as AsyncIterable<Buffer | string>) {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        hasher.update(buf);
        await fh.write(buf);
      }
    }
    if (fsync) await fh.sync();
    await fh.close();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await fs.rm(filePath, { force: true }).catch(() => undefined);
    throw err;
  }
  return hasher.digest();
}
