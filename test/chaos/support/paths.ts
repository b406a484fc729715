/** Where the chaos suite finds its fixtures and writes its reports. */
import { mkdtempSync } from 'node:fs';
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

/** A fresh temporary directory for one scenario's files (execution logs...). */
export function scratchDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `rfw-chaos-${label}-`));
}
