/**
 * The rates and time left of a storage sweep, as the progress bar shows them:
 * `412 obj/s · 52.1 MB/s · 1m05s left`. Only what the sweep reported.
 */
import { readSweepProgress } from '@rfw/storage-jobs';
import { duration } from './output.js';

/** The rate part of a progress line, or `''` when the progress carries none. */
export function formatSweepRates(progress: unknown): string {
  const p = readSweepProgress(progress);
  const parts: string[] = [];
  if (p.objectsPerSec !== undefined) parts.push(`${p.objectsPerSec} obj/s`);
  if (p.bytesPerSec !== undefined) parts.push(`${(p.bytesPerSec / 1e6).toFixed(1)} MB/s`);
  if (p.etaMs !== undefined) parts.push(`${duration(p.etaMs)} left`);
  return parts.join(' · ');
}
