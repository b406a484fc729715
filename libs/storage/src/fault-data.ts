/** Deterministic data for the fault generator: PRNG, contents, sizes, keys, version ids. */

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `size` PRNG bytes. */
export function randomBuffer(rand: () => number, size: number): Buffer {
  const buf = Buffer.alloc(size);
  let i = 0;
  for (; i + 4 <= size; i += 4) buf.writeUInt32LE(Math.floor(rand() * 4294967296), i);
  for (; i < size; i++) buf[i] = Math.floor(rand() * 256);
  return buf;
}

/** A UUIDv7 for `ms` with PRNG bits (deterministic per seed). */
export function versionIdAt(rand: () => number, ms: number): string {
  const b = randomBuffer(rand, 16);
  b.writeUIntBE(ms, 0, 6);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x70;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Object size: ~6% empty, most small, some up to ~500 KiB; `large` ones 2..5 MiB. */
export function pickSize(rand: () => number, large: boolean): number {
  const MiB = 1024 * 1024;
  if (large) return 2 * MiB + Math.floor(rand() * 3 * MiB);
  const r = rand();
  if (r < 0.06) return 0;
  if (r < 0.5) return 1 + Math.floor(rand() * 4096);
  if (r < 0.9) return 4096 + Math.floor(rand() * 60_000);
  return 65_536 + Math.floor(rand() * 450_000);
}

/** A key of one of several shapes (flat, nested, with spaces, non-ASCII). */
export function keyFor(rand: () => number, i: number): string {
  const shapes = [
    () => `obj-${i}.bin`,
    () => `dir-${i % 7}/obj-${i}.dat`,
    () => `dir-${i % 7}/sub-${i % 3}/obj-${i}`,
    () => `photos/${2020 + (i % 5)}/img ${i}.jpg`,
    () => `unicodé/ключ-${i}`,
  ];
  return (shapes[Math.floor(rand() * shapes.length)] ?? shapes[0] ?? (() => `obj-${i}`))();
}
