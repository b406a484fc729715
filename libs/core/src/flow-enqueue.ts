/**
 * The producer's and the admin's side of flows: a parent's `waiting` record,
 * its children counted for `get()`, and its children cancelled with it.
 */
import type { CoreContext } from './context.js';
import { publishEvent } from './context.js';
import { InvalidStateError, JobNotFoundError } from './errors.js';
import { endedCounts } from './flow-state.js';
import type { Job } from './job.js';
import { compiledRecord } from './records.js';
import type { CompiledJob } from './schedule-options.js';

/** Create a flow parent's record, `waiting` for `children`; kept if it exists (a retried `flow()`). */
export async function createWaitingParent(
  ctx: CoreContext,
  job: CompiledJob,
  children: number,
): Promise<void> {
  // Its runAt is when it was enqueued: it runs when its children end.
  const rev = await ctx.records.create(
    compiledRecord(job, 'waiting', { runAt: job.createdAt, flow: { children } }),
  );
  if (rev === undefined) return;
  publishEvent(ctx, {
    id: job.id,
    type: job.type,
    priority: job.priority,
    state: 'waiting',
    at: job.createdAt,
  });
}

/** A parent's record with its children's endings counted (one stream info). */
export async function withFlowCounts(ctx: CoreContext, job: Job): Promise<Job> {
  if (!job.flow) return job;
  const c = await endedCounts(ctx, job.id);
  return { ...job, flow: { ...job.flow, ...c } };
}

/**
 * Cancel the children of a cancelled parent that have not ended, 16 at a
 * time (a child that is a parent cancels its own). Resolves with how many
 * were cancelled.
 */
export async function cancelChildren(
  parent: Job,
  cancel: (id: string) => Promise<Job>,
): Promise<number> {
  const n = parent.flow?.children ?? 0;
  let next = 0;
  let cancelled = 0;
  const lane = async (): Promise<void> => {
    while (next < n) {
      const id = `${parent.id}-${next++}`;
      try {
        await cancel(id);
        cancelled++;
      } catch (err) {
        // Ended already, or never enqueued (a flow cut short).
        if (!(err instanceof InvalidStateError) && !(err instanceof JobNotFoundError)) throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, n) }, lane));
  return cancelled;
}
