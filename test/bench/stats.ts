/** Small statistics helpers. */

/** The q-quantile (0..1) by nearest rank; NaN for no samples. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

export const median = (values: readonly number[]): number => {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

export function latencySummary(samples: readonly number[]): {
  p50: number;
  p99: number;
  max: number;
  n: number;
} {
  return {
    p50: quantile(samples, 0.5),
    p99: quantile(samples, 0.99),
    max: samples.length ? samples.reduce((a, b) => (b > a ? b : a), -Infinity) : Number.NaN,
    n: samples.length,
  };
}

/** Split `[key, value, key, value, ...]` pairs into the values whose key passes. */
export function pairValues(pairs: readonly number[], keep: (key: number) => boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    if (keep(pairs[i] as number)) out.push(pairs[i + 1] as number);
  }
  return out;
}
