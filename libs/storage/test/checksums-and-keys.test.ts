import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ContentHasher,
  compareKeys,
  crc32,
  crc32Combine,
  validateBucketName,
  validateKey,
} from '../src/index.js';
import { coarsenBlocks } from '../src/checksum.js';
import { decodeCrcs, encodeCrcs } from '../src/s3-metadata.js';

describe('crc32', () => {
  it('matches zlib, incrementally too', () => {
    const data = randomBytes(100_000);
    const expected = zlib.crc32(data);
    expect(crc32(data)).toBe(expected);
    expect(crc32(data.subarray(40_000), crc32(data.subarray(0, 40_000)))).toBe(expected);
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('combines CRCs of adjacent pieces', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.uint8Array({ maxLength: 3000 }),
        (a, b) => {
          const whole = crc32(Buffer.concat([a, b]));
          expect(crc32Combine(crc32(a), crc32(b), b.length)).toBe(whole);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('coarsens block CRCs exactly as computing them with a bigger block', () => {
    const data = randomBytes(10_000 + 123);
    const fine = new ContentHasher(100);
    fine.update(data);
    const digest = fine.digest();
    const coarse = coarsenBlocks(digest.blockCrc32, 100, data.length, 12);
    expect(coarse.blockSize).toBe(1600);
    const direct = new ContentHasher(1600);
    direct.update(data);
    expect(coarse.blockCrc32).toEqual(direct.digest().blockCrc32);
    expect(decodeCrcs(encodeCrcs(coarse.blockCrc32))).toEqual(coarse.blockCrc32);
  });
});

describe('key order', () => {
  it('orders like UTF-8 bytes (S3 order), including astral characters', () => {
    const chars = fc.constantFrom('a', 'b', '/', '-', '0', 'é', '\uffee', '😀', '\ue000', 'z');
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 6 }), fc.array(chars, { maxLength: 6 }), (x, y) => {
        const a = x.join('');
        const b = y.join('');
        expect(Math.sign(compareKeys(a, b))).toBe(
          Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))),
        );
      }),
      { numRuns: 500 },
    );
  });
});

describe('name validation', () => {
  it('accepts ordinary S3 names and keys', () => {
    for (const b of ['abc', 'my-bucket', 'logs.2024', 'a'.repeat(63)])
      expect(() => validateBucketName(b)).not.toThrow();
    for (const k of ['a', 'a/b/c.txt', 'with space', 'ünï/cødé', '.hidden', 'a..b', '...'])
      expect(() => validateKey('b', k)).not.toThrow();
  });

  it('rejects lone surrogates, which cannot be stored as UTF-8', () => {
    expect(() => validateKey('b', 'bad\ud800')).toThrow(
      expect.objectContaining({ reason: 'invalid-utf16' }) as Error,
    );
  });
});
