/** Where the chaos suite finds its fixtures and writes its reports. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is `test/chaos/support/paths.ts`). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Absolute path of a fixture entry under `test/chaos/fixtures/`. */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
}

/** Git-ignored directory that receives one JSON report per scenario. */
export const reportDir = process.env.RFW_RELIABILITY_DIR ?? join(repoRoot, '.data', 'reliability');

const scratch: string[] = [];

/** Remove the scratch directories made so far (call it in `afterAll`). */
export function removeScratch(): void {
  for (const d of scratch.splice(0)) {
    try {
      rmSync(d, { recursive: true, force: true });
    } catch {
      // best effort (a directory a failed test left read-only)
    }
  }
}
process.once('exit', removeScratch);

/**
 * A fresh temporary directory for one scenario's files (execution logs...),
 * removed by `removeScratch()` (`RFW_CHAOS_KEEP=1` keeps it).
 */
export function scratchDir(label: string): string {
  const d = mkdtempSync(join(tmpdir(), `rfw-chaos-${label}-`));
  if (!process.env.RFW_CHAOS_KEEP) scratch.push(d);
  return d;
}
