/**
 * Reading small files with as few thread-pool round trips as possible: open,
 * one read into a buffer of the expected size, close. `fs.readFile` also
 * fstats and reads again to find the end, which doubles the calls for the
 * millions of sidecars and small objects a sweep opens.
 */
import fs from 'node:fs/promises';

/** What {@link readUpTo} found. */
export interface ReadUpTo {
  /** The bytes read, at most `limit`. */
  data: Buffer;
  /** True when the file holds more than `limit` bytes (only the first `limit` were read). */
  more: boolean;
}

/**
 * Reads at most `limit` bytes of `file`, and tells whether there is more.
 * @throws the file system's error (ENOENT, EISDIR, ...)
 */
export async function readUpTo(file: string, limit: number): Promise<ReadUpTo> {
  const fh = await fs.open(file, 'r');
  try {
    // One byte more than asked says whether the file is longer, without an fstat.
    const buffer = Buffer.allocUnsafe(limit + 1);
    let filled = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buffer, filled, buffer.length - filled, filled);
      filled += bytesRead;
      if (bytesRead === 0 || filled === buffer.length) break;
    }
    return { data: buffer.subarray(0, Math.min(filled, limit)), more: filled > limit };
  } finally {
    await fh.close();
  }
}
