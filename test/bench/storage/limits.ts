/**
 * The physical limits each storage worker is measured against, on the same
 * disk and in the same run: reading and SHA-256-hashing every replica
 * (`sha256sum`, native), a plain recursive copy of one node's bucket
 * (`cp -r`, no fsync), and a walk that only reads the metadata sidecars.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';

/** Wall time of one measurement, ms. */
export interface Timed<T> {
  ms: number;
  value: T;
}

export async function timed<T>(fn: () => Promise<T>): Promise<Timed<T>> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

function sh(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('/bin/sh', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    p.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${script} exited ${code}: ${err}`)),
    );
  });
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Reads and SHA-256-hashes every data file under `roots` with `sha256sum`,
 * two processes at once (one per core of the reference machine).
 * @returns bytes hashed
 */
export async function readAndHash(roots: readonly string[]): Promise<number> {
  const out = await sh(
    `find ${roots.map(quote).join(' ')} -type f -name '.rfw.data.*' -print0 | xargs -0 -n 256 -P 2 sha256sum | wc -l; ` +
      `find ${roots.map(quote).join(' ')} -type f -name '.rfw.data.*' -printf '%s\\n' | awk '{s+=$1} END {print s+0}'`,
  );
  const [, bytes] = out.trim().split('\n');
  return Number(bytes);
}

/** `cp -r` of `from` into `to` (which must not exist). @returns bytes of data files copied */
export async function plainCopy(from: string, to: string): Promise<number> {
  await sh(`cp -r ${quote(from)} ${quote(to)}`);
  const out = await sh(
    `find ${quote(to)} -type f -name '.rfw.data.*' -printf '%s\\n' | awk '{s+=$1} END {print s+0}'`,
  );
  return Number(out.trim());
}

/** Reads and parses every metadata sidecar under `dir`, a few directories at once. @returns sidecars read */
export async function metadataWalk(dirs: readonly string[]): Promise<number> {
  let count = 0;
  const walk = async (dir: string): Promise<void> => {
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
    const subdirs: string[] = [];
    for (const e of entries) {
      if (e.isDirectory()) {
        if (!e.name.startsWith('.rfw')) subdirs.push(path.join(dir, e.name));
      } else if (e.name === '.rfw.meta.json') {
        JSON.parse(await fs.readFile(path.join(dir, e.name), 'utf8'));
        count++;
      }
    }
    for (let i = 0; i < subdirs.length; i += 8) {
      await Promise.all(subdirs.slice(i, i + 8).map(walk));
    }
  };
  for (const d of dirs) await walk(d);
  return count;
}

/** Free bytes on the file system holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const s = await fs.statfs(dir);
  return s.bavail * s.bsize;
}
