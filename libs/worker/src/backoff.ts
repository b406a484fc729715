/** Retry delays: exponential growth, capped, with full jitter. */
export interface BackoffOptions {
  /** Delay scale of the first retry, ms. @default 1000 */
  baseMs: number;
  /** Growth per attempt. @default 2 */
  factor: number;
  /** Largest delay, ms. @default 300000 */
  capMs: number;
  /** `full`: uniform in [0, exp]; `none`: exactly exp (for tests and tooling). @default 'full' */
  jitter: 'full' | 'none';
}

export const DEFAULT_BACKOFF: BackoffOptions = {
  baseMs: 1000,
  factor: 2,
  capMs: 300_000,
  jitter: 'full',
};

/**
 * Delay before retry number `retry` (1 for the first retry):
 * `min(cap, base * factor^(retry-1))`, then full jitter (AWS architecture blog's
 * "Exponential Backoff And Jitter"), floored at 1 ms.
 */
export function backoffDelay(
  retry: number,
  opts: BackoffOptions = DEFAULT_BACKOFF,
  random = Math.random,
): number {
  const exp = Math.min(opts.capMs, opts.baseMs * Math.pow(opts.factor, Math.max(0, retry - 1)));
  const d = opts.jitter === 'full' ? random() * exp : exp;
  return Math.max(1, Math.round(d));
}
