/**
 * Scenario sizes: the full run, and `--quick` (a smoke run in well under a
 * minute on an idle machine). Quick sizes are too small for the targets: the
 * latency rates and the largest process count differ, so those targets read
 * "not measured" there.
 */

export interface Sizes {
  repeats: number;
  enqueueSingle: number;
  enqueueSingleConcurrency: number;
  enqueueBulk: number;
  bulkChunk: number;
  e2eJobs: number;
  workerConcurrency: number;
  latencyRates: readonly number[];
  latencyDurationMs: number;
  /** Samples enqueued in this first stretch of a latency run are dropped (same rule for all). */
  latencyWarmupMs: number;
  /** Paced rates tried in ascending order by `max-rate` (highest with p99 under 10 ms). */
  maxRateSteps: readonly number[];
  priorityBacklog: number;
  priorityProbes: number;
  priorityProbeIntervalMs: number;
  priorityWorkerConcurrency: number;
  delayedJobs: number;
  delayedLeadMs: number;
  delayedSpreadMs: number;
  /** Far-future delayed jobs waiting while the `delayed-scale` probes run. */
  delayedScalePending: number;
  scalingProcesses: readonly number[];
  scalingJobsPerProcess: number;
  scalingConcurrency: number;
  scalingSleepMs: number;
  memoryInFlight: number;
  memoryIdleSettleMs: number;
  listingRecords: number;
  listingCalls: number;
  /** Children of the one parent of the `flow` scenario. */
  flowChildren: number;
}

export const FULL: Sizes = {
  repeats: 3,
  enqueueSingle: 10_000,
  enqueueSingleConcurrency: 64,
  enqueueBulk: 20_000,
  bulkChunk: 1000,
  e2eJobs: 100_000,
  workerConcurrency: 100,
  latencyRates: [2000, 5000],
  latencyDurationMs: 8000,
  latencyWarmupMs: 1000,
  maxRateSteps: [1000, 2000, 3000, 4000, 5000, 6000, 8000, 10_000, 12_000, 15_000, 20_000],
  priorityBacklog: 100_000,
  priorityProbes: 50,
  priorityProbeIntervalMs: 40,
  priorityWorkerConcurrency: 10,
  delayedJobs: 10_000,
  delayedLeadMs: 5000,
  delayedSpreadMs: 10_000,
  delayedScalePending: 1_000_000,
  scalingProcesses: [1, 2, 4],
  scalingJobsPerProcess: 600,
  scalingConcurrency: 10,
  scalingSleepMs: 50,
  memoryInFlight: 10_000,
  memoryIdleSettleMs: 2000,
  listingRecords: 1_000_000,
  listingCalls: 20,
  flowChildren: 10_000,
};

export const QUICK: Sizes = {
  repeats: 1,
  enqueueSingle: 500,
  enqueueSingleConcurrency: 64,
  enqueueBulk: 1000,
  bulkChunk: 500,
  e2eJobs: 1000,
  workerConcurrency: 100,
  latencyRates: [500, 1000],
  latencyDurationMs: 1500,
  latencyWarmupMs: 1000,
  maxRateSteps: [250, 500],
  priorityBacklog: 1000,
  priorityProbes: 5,
  priorityProbeIntervalMs: 20,
  priorityWorkerConcurrency: 10,
  delayedJobs: 300,
  delayedLeadMs: 1000,
  delayedSpreadMs: 500,
  delayedScalePending: 2000,
  scalingProcesses: [1, 2],
  scalingJobsPerProcess: 40,
  scalingConcurrency: 10,
  scalingSleepMs: 50,
  memoryInFlight: 500,
  memoryIdleSettleMs: 200,
  listingRecords: 5000,
  listingCalls: 3,
  flowChildren: 200,
};
