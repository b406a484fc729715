/** Environment variables shared by the storage worker services. */
import { z } from 'zod';
import type { BreakerOptions } from '@rfw/worker';

const int = z.coerce.number().int();

/** Circuit breaker per storage node (opossum): when it opens, jobs touching that node are deferred. */
export const BreakerEnv = z.object({
  /** Failures within the window needed before the breaker may open. */
  BREAKER_VOLUME_THRESHOLD: int.min(1).default(5),
  /** Error percentage within the window that opens it. */
  BREAKER_ERROR_PERCENT: int.min(1).max(100).default(50),
  /** How long it stays open before one probe call, ms. */
  BREAKER_RESET_MS: int.min(100).max(3_600_000).default(10_000),
  /** Rolling window, ms. */
  BREAKER_WINDOW_MS: int.min(100).max(3_600_000).default(10_000),
});
export type BreakerEnv = z.infer<typeof BreakerEnv>;

/** The WorkerManager breaker options the variables describe. */
export function breakerOptions(env: BreakerEnv): BreakerOptions {
  return {
    volumeThreshold: env.BREAKER_VOLUME_THRESHOLD,
    errorThresholdPercentage: env.BREAKER_ERROR_PERCENT,
    resetTimeoutMs: env.BREAKER_RESET_MS,
    rollingCountTimeoutMs: env.BREAKER_WINDOW_MS,
  };
}
