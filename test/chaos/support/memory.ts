/** Resident memory of processes, sampled from `/proc` (Linux). */
import { readFileSync } from 'node:fs';

/** Resident set size of `pid` in MiB, or undefined when it cannot be read. */
export function rssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return kb === undefined ? undefined : Math.round(Number(kb) / 102.4) / 10;
  } catch {
    return undefined;
  }
}

/** Keeps the peak of each named series. */
export class Peaks {
  readonly peak: Record<string, number> = {};
  readonly samples: Record<string, number[]> = {};
  add(name: string, value: number | undefined): void {
    if (value === undefined) return;
    this.peak[name] = Math.max(this.peak[name] ?? -Infinity, value);
    (this.samples[name] ??= []).push(value);
  }
  /** Mean of the first and of the last quarter of a series (to see growth). */
  trend(name: string): { first: number; last: number } | undefined {
    const s = this.samples[name];
    if (!s || s.length < 8) return undefined;
    const q = Math.floor(s.length / 4);
    const mean = (a: number[]): number =>
      Math.round((a.reduce((x, y) => x + y, 0) / a.length) * 10) / 10;
    return { first: mean(s.slice(0, q)), last: mean(s.slice(-q)) };
  }
}
