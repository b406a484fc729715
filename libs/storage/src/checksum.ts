import { createHash, type Hash } from 'node:crypto';
import zlib from 'node:zlib';

/** Default size of the blocks covered by one CRC32: 1 MiB. */
export const DEFAULT_BLOCK_SIZE = 1024 * 1024;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32Js(data: Uint8Array, value: number): number {
  let c = (value ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) {
    c = (CRC_TABLE[(c ^ (data[i] ?? 0)) & 0xff] ?? 0) ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

type Crc32Fn = (data: Uint8Array, value?: number) => number;
// zlib.crc32 exists from Node 20.15 / 22.2; fall back to a table implementation before that.
const nativeCrc32 = (zlib as { crc32?: Crc32Fn }).crc32;

/**
 * CRC-32 (IEEE 802.3, as zlib / gzip), optionally continuing from a previous value.
 * @returns unsigned 32-bit value
 */
export function crc32(data: Uint8Array, value = 0): number {
  return nativeCrc32 ? nativeCrc32(data, value) >>> 0 : crc32Js(data, value);
}

function gf2MatrixTimes(mat: Uint32Array, vec: number): number {
  let sum = 0;
  let v = vec >>> 0;
  for (let i = 0; v !== 0; i++, v >>>= 1) {
    if (v & 1) sum ^= mat[i] ?? 0;
  }
  return sum >>> 0;
}

function gf2MatrixSquare(square: Uint32Array, mat: Uint32Array): void {
  for (let n = 0; n < 32; n++) square[n] = gf2MatrixTimes(mat, mat[n] ?? 0);
}

/**
 * CRC32 of the concatenation A‖B from crc(A), crc(B) and the length of B (zlib's `crc32_combine`).
 */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  if (lengthB <= 0) return crcA >>> 0;
  const even = new Uint32Array(32);
  const odd = new Uint32Array(32);
  odd[0] = 0xedb88320;
  let row = 1;
  for (let n = 1; n < 32; n++) {
    odd[n] = row;
    row = (row << 1) >>> 0;
  }
  gf2MatrixSquare(even, odd);
  gf2MatrixSquare(odd, even);
  let crc = crcA >>> 0;
  let len = lengthB;
  for (;;) {
    gf2MatrixSquare(even, odd);
    if (len % 2 === 1) crc = gf2MatrixTimes(even, crc);
    len = Math.floor(len / 2);
    if (len === 0) break;
    gf2MatrixSquare(odd, even);
    if (len % 2 === 1) crc = gf2MatrixTimes(odd, crc);
    len = Math.floor(len / 2);
    if (len === 0) break;
  }
  return (crc ^ crcB) >>> 0;
}

/**
 * Merges adjacent block CRCs (doubling the block size) until there are at most `maxBlocks`.
 * Used by the S3 driver, whose metadata budget is limited.
 */
export function coarsenBlocks(
  blockCrc32: readonly number[],
  blockSize: number,
  size: number,
  maxBlocks: number,
): { blockSize: number; blockCrc32: number[] } {
  let crcs = [...blockCrc32];
  let bs = blockSize;
  while (crcs.length > maxBlocks) {
    const merged: number[] = [];
    for (let i = 0; i < crcs.length; i += 2) {
      const a = crcs[i] ?? 0;
      const b = crcs[i + 1];
      if (b === undefined) {
        merged.push(a);
      } else {
        const lengthB = Math.min(bs, size - (i + 1) * bs);
        merged.push(crc32Combine(a, b, lengthB));
      }
    }
    crcs = merged;
    bs *= 2;
  }
  return { blockSize: bs, blockCrc32: crcs };
}

/** What {@link ContentHasher.digest} returns. */
export interface ContentDigest {
  size: number;
  sha256: string;
  md5: string;
  blockSize: number;
  blockCrc32: number[];
}

/** Incrementally computes size, SHA-256, MD5 and per-block CRC32 of a byte stream. */
export class ContentHasher {
  readonly blockSize: number;
  private readonly sha = createHash('sha256');
  private readonly md5: Hash | undefined;
  private readonly crcs: number[] = [];
  private blockCrc = 0;
  private blockFill = 0;
  private total = 0;

  /**
   * @param blockSize bytes per CRC block (default 1 MiB)
   * @param withMd5 also compute MD5 (for S3-style ETags); default true
   */
  constructor(blockSize = DEFAULT_BLOCK_SIZE, withMd5 = true) {
    if (!Number.isSafeInteger(blockSize) || blockSize <= 0)
      throw new RangeError(`bad block size ${blockSize}`);
    this.blockSize = blockSize;
    this.md5 = withMd5 ? createHash('md5') : undefined;
  }

  /** Bytes seen so far. */
  get size(): number {
    return this.total;
  }

  /** Feeds the next chunk. */
  update(chunk: Uint8Array): void {
    this.sha.update(chunk);
    this.md5?.update(chunk);
    this.total += chunk.length;
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(this.blockSize - this.blockFill, chunk.length - offset);
      this.blockCrc = crc32(chunk.subarray(offset, offset + take), this.blockCrc);
      this.blockFill += take;
      offset += take;
      if (this.blockFill === this.blockSize) {
        this.crcs.push(this.blockCrc);
        this.blockCrc = 0;
        this.blockFill = 0;
      }
    }
  }

  /** Block CRCs completed so far (the trailing partial block is not included until `digest`). */
  get completedBlocks(): readonly number[] {
    return this.crcs;
  }

  /** Finishes; the hasher cannot be used afterwards. */
  digest(): ContentDigest {
    if (this.blockFill > 0) {
      this.crcs.push(this.blockCrc);
      this.blockFill = 0;
    }
    return {
      size: this.total,
      sha256: this.sha.digest('hex'),
      md5: this.md5?.digest('hex') ?? '',
      blockSize: this.blockSize,
      blockCrc32: this.crcs,
    };
  }
}

/** Hashes a whole buffer at once. */
export function digestBuffer(data: Uint8Array, blockSize = DEFAULT_BLOCK_SIZE): ContentDigest {
  const hasher = new ContentHasher(blockSize);
  hasher.update(data);
  return hasher.digest();
}
