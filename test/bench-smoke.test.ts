/**
 * The bench must never rot: `bench/run.ts --quick` runs every scenario at a
 * small size against real nats-server, Redis and child processes, and must
 * finish cleanly and write well-formed results. No timing is asserted here.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const testDir = dirname(fileURLToPath(import.meta.url));

interface BenchResults {
  version: number;
  quick: boolean;
  machine: { nproc: number; node: string; natsServer: string };
  scenarios: Array<{ id: string; systems: string[]; metrics: Array<{ key: string }> }>;
  unavailable: Record<string, string>;
  runs: Array<{ scenario: string; system: string; values: Record<string, number>; error?: string }>;
  summaries: Array<{ scenario: string; metric: string; system: string; median: number }>;
  targets: Array<{ name: string; bound: string; met: boolean | null }>;
}

function runBench(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', 'bench/run.ts', ...args],
      {
        cwd: testDir,
        env: { ...process.env, VITEST: undefined },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    proc.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('integration', () => {
  const out = mkdtempSync(join(tmpdir(), 'rfw-bench-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('bench --quick runs every scenario and writes well-formed results', async () => {
    const r = await runBench(['--quick', '--out', out]);
    expect(r.code, `bench failed:\n${r.stderr.slice(-4000)}`).toBe(0);
    expect(r.stdout).toContain('## Results');
    expect(r.stdout).toContain('## Targets');

    const files = readdirSync(out).filter((f) => f.endsWith('.json'));
    expect(files).toHaveLength(1);
    const res = JSON.parse(readFileSync(join(out, files[0] as string), 'utf8')) as BenchResults;
    expect(res.version).toBe(1);
    expect(res.quick).toBe(true);
    expect(res.machine.nproc).toBeGreaterThan(0);
    expect(res.machine.natsServer).toMatch(/nats-server/);
    expect(res.scenarios.map((s) => s.id)).toEqual([
      'enqueue',
      'e2e',
      'latency',
      'max-rate',
      'priority',
      'delayed',
      'delayed-scale',
      'scaling',
      'memory',
      'listing',
      'flow',
    ]);
    expect(res.runs.filter((run) => run.error)).toEqual([]);
    // Every system that was not declared unavailable ran, with a finite value per metric.
    for (const sc of res.scenarios) {
      for (const system of sc.systems) {
        if (res.unavailable[`${sc.id}/${system}`]) continue;
        const runs = res.runs.filter((x) => x.scenario === sc.id && x.system === system);
        expect(runs.length, `${sc.id}/${system} runs`).toBeGreaterThan(0);
        for (const run of runs) {
          for (const m of sc.metrics) {
            const v = run.values[m.key];
            expect(Number.isFinite(v), `${sc.id}/${system}/${m.key} = ${v}`).toBe(true);
          }
        }
      }
    }
    expect(res.targets).toHaveLength(13);
    for (const t of res.targets) expect(typeof t.bound).toBe('string');
  }, 600_000);
});
