/**
 * The progress bar shows a storage sweep's rates and time left next to its
 * counts, and nothing extra for a job that reports only counts.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ProgressBar } from '../src/progress-bar.js';
import { formatSweepRates } from '../src/sweep-rates.js';

describe('sweep rates on the progress bar', () => {
  it('formats objects/s, MB/s and the time left, only those reported', () => {
    expect(
      formatSweepRates({ done: 3, objectsPerSec: 412, bytesPerSec: 52_100_000, etaMs: 65_000 }),
    ).toBe('412 obj/s · 52.1 MB/s · 1m05s left');
    expect(formatSweepRates({ done: 3, objectsPerSec: 7 })).toBe('7 obj/s');
    expect(formatSweepRates({ done: 3, total: 9 })).toBe('');
    expect(formatSweepRates({ done: 3, bytesPerSec: 'fast', etaMs: -1 })).toBe('');
    expect(formatSweepRates(undefined)).toBe('');
  });

  it('draws them on the bar line', async () => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (c: Buffer) => (text += c.toString()));
    const bar = new ProgressBar(stream, 60_000);
    const progress = { done: 40, total: 100, objectsPerSec: 20, bytesPerSec: 3e6, etaMs: 3000 };
    bar.progress(40, 100, { state: 'running', message: `${formatSweepRates(progress)} | 40/100` });
    bar.stop();
    expect(text).toMatch(
      /running \[=+-*\] 40% \| 40\/100 \| .* \| 20 obj\/s · 3\.0 MB\/s · 3\.0s left \| 40\/100/,
    );
  });
});
