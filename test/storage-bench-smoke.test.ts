/**
 * The storage bench must never rot: `bench/storage/run.ts` at a tiny store
 * runs every step (real nats-server, real files, each worker service as its
 * own process) and must exit 0, which it only does when every injected fault
 * was repaired and no healthy replica rewritten. No timing is asserted here.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnService } from '@rfw/testkit';

const testDir = dirname(fileURLToPath(import.meta.url));

interface StorageBenchResults {
  version: number;
  objects: number;
  rows: Array<{ step: string; objects: number; ms: number; limitMs: number; peakRssBytes: number }>;
  check: { injected: number; repaired: number; healthyRewritten: string[] };
}

async function runBench(args: string[]): Promise<{ code: number | null; output: string }> {
  const proc = spawnService(join(testDir, 'bench/storage/run.ts'), { args, cwd: testDir });
  const { code } = await proc.exited;
  return { code, output: proc.lines.join('\n') };
}

describe('integration', () => {
  const out = mkdtempSync(join(tmpdir(), 'rfw-storage-bench-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('bench:storage on a tiny store runs every step and repairs every fault', async () => {
    const r = await runBench(['--objects', '40', '--out', out]);
    expect(r.code, `storage bench failed:\n${r.output.slice(-4000)}`).toBe(0);
    expect(r.output).toContain('| heal-deep |');
    const files = readdirSync(out).filter((f) => f.endsWith('.json'));
    expect(files).toHaveLength(1);
    const res = JSON.parse(
      readFileSync(join(out, files[0] as string), 'utf8'),
    ) as StorageBenchResults;
    expect(res.version).toBe(1);
    expect(res.rows.map((row) => row.step)).toEqual([
      'heal-deep',
      'heal-shallow',
      'index-sqlite',
      'index-postgres',
      'cleanup',
      'resync',
    ]);
    for (const row of res.rows) {
      expect(row.objects, row.step).toBe(40);
      expect(row.ms, row.step).toBeGreaterThan(0);
      expect(row.peakRssBytes, row.step).toBeGreaterThan(0);
    }
    expect(res.check.injected).toBeGreaterThan(0);
    expect(res.check.repaired).toBe(res.check.injected);
    expect(res.check.healthyRewritten).toEqual([]);
  }, 240_000);
});
