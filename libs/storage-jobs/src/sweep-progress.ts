/**
 * What the progress events of storage sweeps carry beside the runtime's
 * `done` / `total` / `message`: bytes, rates and the time left. Readers (the
 * CLI's progress bar, the monitor) take each field only when it is a number,
 * so a sweep that reports none of them still shows objects.
 */

/** A storage sweep's progress report. */
export interface SweepProgress {
  /** Objects done so far. */
  done: number;
  /** Objects in all, once counted. */
  total?: number;
  message?: string;
  /** Bytes of the objects done so far (healing: of every replica checked). */
  bytesDone?: number;
  /** Objects per second in this attempt. */
  objectsPerSec?: number;
  /** Bytes per second in this attempt. */
  bytesPerSec?: number;
  /** Estimated time left, ms (needs `total`). */
  etaMs?: number;
}

/** The sweep fields of any progress object, each kept only when it is a finite number. */
export function readSweepProgress(
  p: unknown,
): Pick<SweepProgress, 'bytesDone' | 'objectsPerSec' | 'bytesPerSec' | 'etaMs'> {
  const out: Pick<SweepProgress, 'bytesDone' | 'objectsPerSec' | 'bytesPerSec' | 'etaMs'> = {};
  if (typeof p !== 'object' || p === null) return out;
  const r = p as Record<string, unknown>;
  for (const k of ['bytesDone', 'objectsPerSec', 'bytesPerSec', 'etaMs'] as const) {
    const v = r[k];
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) out[k] = v;
  }
  return out;
}
