/**
 * Builds an N-node local store full of replicated objects with injected faults (bitrot,
 * missing replicas, stale versions, truncated files, leftover temp files, abandoned partial
 * uploads) and writes `<dir>/manifest.json` (what was broken where) and `<dir>/topology.json`.
 *
 *   npx tsx test/tools/make-faulty-store.ts --nodes 3 --objects 200 --dir /tmp/x [--large 2]
 *       [--seed 1] [--buckets data,logs] [--block-size 1048576] [--bitrot N] [--missing N]
 *       [--stale N] [--truncated N] [--temp N] [--partial N]
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
// Relative import (not '@rfw/storage/testing') so plain `npx tsx` works without a build:
// the package's `source` export condition is only active with `--conditions=source`.
import { makeFaultyStore, type FaultKind } from '../../libs/storage/src/testing.js';

const USAGE =
  'usage: npx tsx test/tools/make-faulty-store.ts --dir DIR [--nodes 3] [--objects 200] [--large 2] [--seed 1] [--buckets a,b] [--block-size N] [--bitrot N] [--missing N] [--stale N] [--truncated N] [--temp N] [--partial N]';

function int(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new Error(`--${name} must be a non-negative integer, got ${value}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string' },
      nodes: { type: 'string' },
      objects: { type: 'string' },
      large: { type: 'string' },
      seed: { type: 'string' },
      buckets: { type: 'string' },
      'block-size': { type: 'string' },
      bitrot: { type: 'string' },
      missing: { type: 'string' },
      stale: { type: 'string' },
      truncated: { type: 'string' },
      temp: { type: 'string' },
      partial: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help || values.dir === undefined) {
    console.log(USAGE);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const faults: Partial<Record<FaultKind, number>> = {};
  const counts: [FaultKind, string | undefined][] = [
    ['bitrot', values.bitrot],
    ['missing-replica', values.missing],
    ['stale-version', values.stale],
    ['truncated', values.truncated],
    ['temp-file', values.temp],
    ['partial-upload', values.partial],
  ];
  for (const [kind, raw] of counts) {
    const n = int(kind, raw);
    if (n !== undefined) faults[kind] = n;
  }
  const started = Date.now();
  const manifest = await makeFaultyStore({
    dir: values.dir,
    nodes: int('nodes', values.nodes),
    objects: int('objects', values.objects),
    largeObjects: int('large', values.large),
    seed: int('seed', values.seed),
    blockSize: int('block-size', values['block-size']),
    buckets: values.buckets?.split(',').filter((b) => b !== ''),
    faults,
  });
  const byKind = new Map<string, number>();
  for (const f of manifest.faults) byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1);
  console.log(
    `built ${manifest.nodes.length} nodes x ${manifest.objects.length} objects in ${Date.now() - started} ms under ${manifest.dir}`,
  );
  for (const [kind, n] of byKind) console.log(`  ${kind}: ${n}`);
  console.log(`manifest: ${path.join(manifest.dir, 'manifest.json')}`);
  console.log(`topology: ${path.join(manifest.dir, 'topology.json')}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  console.error(USAGE);
  process.exitCode = 1;
});
