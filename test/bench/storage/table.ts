/** The storage bench's markdown table: each worker against its physical limit. */
import type { StepRun } from './steps.js';

/** A step with the limit it is compared with. */
export interface BenchRow extends StepRun {
  limit: string;
  limitMs: number;
  /** Bytes the limit moved (for MB/s); absent for metadata-only work. */
  bytes?: number;
  /** Share of the limit's speed the worker must reach; absent = measured only. */
  target?: number;
}

const f1 = (n: number): string => n.toFixed(1);

export function formatTable(rows: readonly BenchRow[]): string {
  const lines = [
    '| step | service | objects | time s | objects/s | MB/s | limit | limit s | ratio | target | peak RSS MB |',
    '| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- | ---: |',
  ];
  for (const r of rows) {
    const ratio = r.limitMs / r.ms;
    const mbs = r.bytes !== undefined ? f1(r.bytes / 1e6 / (r.ms / 1000)) : '-';
    const target =
      r.target === undefined
        ? '-'
        : `>= ${r.target * 100}% ${ratio >= r.target ? 'met' : 'NOT met'}`;
    lines.push(
      `| ${r.step} | ${r.service} | ${r.objects} | ${(r.ms / 1000).toFixed(2)} | ${Math.round(r.objects / (r.ms / 1000))} | ${mbs} | ${r.limit} | ${(r.limitMs / 1000).toFixed(2)} | ${Math.round(ratio * 100)}% | ${target} | ${f1(r.peakRssBytes / 1e6)} |`,
    );
  }
  return lines.join('\n');
}
