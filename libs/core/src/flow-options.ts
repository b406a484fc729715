/**
 * What `JobQueue.flow()` takes, and its validation: a tree of jobs, each
 * node's errors named by its path (`children[2].children[0].priority`).
 * Children get their ids from their parent's (`<parent>-<index>`), so a flow
 * enqueued again under the same root id names the same jobs.
 */
import { JobValidationError } from './errors.js';
import { CHILD_FAILURE_POLICIES, LIMITS, type ChildFailurePolicy } from './job.js';
import { compileSchedule, type CompiledJob, type ScheduleOptions } from './schedule-options.js';

/** A job of a flow, with the jobs it waits for. */
export interface FlowJob {
  /** The job type, as for `schedule()`. */
  type: string;
  /** The payload, as for `schedule()`. */
  payload: unknown;
  /**
   * Options, as for `schedule()`. Only the root may have an `id`; no node may
   * be `unique`, and a node with children may not be delayed (it runs when
   * they end).
   */
  options?: Omit<ScheduleOptions, 'unique'>;
  /** Jobs that must end before this one runs. */
  children?: FlowChild[];
}

/** A child of a flow: a job, and what its failure does to its parent. */
export interface FlowChild extends FlowJob {
  /** @default 'fail' */
  onFailure?: ChildFailurePolicy;
}

/** What `flow()` enqueued: the root's id and its children's, as a tree. */
export interface FlowNode {
  /** The job's id. */
  id: string;
  /** The job type. */
  type: string;
  /** Its children, in input order. */
  children: FlowNode[];
}

/** Most jobs one flow may hold. */
export const MAX_FLOW_JOBS = 100_000;

/** A validated node: the job, and its children's. */
export interface CompiledFlow {
  job: CompiledJob;
  children: CompiledFlow[];
}

function at(path: string, field: string): string {
  return path ? `${path}.${field}` : field;
}

/** Validate and compile a flow; throws `JobValidationError` naming the node's field. */
export function compileFlow(root: FlowJob, now = Date.now()): CompiledFlow {
  let count = 0;
  const node = (
    n: FlowJob,
    path: string,
    id: string | undefined,
    parent: CompiledJob['parent'],
  ): CompiledFlow => {
    if (n === null || typeof n !== 'object')
      throw new JobValidationError(path || 'flow', 'must be an object');
    if (++count > MAX_FLOW_JOBS)
      throw new JobValidationError('children', `a flow holds at most ${MAX_FLOW_JOBS} jobs`);
    const opts = n.options ?? {};
    if (opts === null || typeof opts !== 'object')
      throw new JobValidationError(at(path, 'options'), 'must be an object');
    if ('unique' in opts && (opts as ScheduleOptions).unique !== undefined)
      throw new JobValidationError(at(path, 'options.unique'), 'flow jobs cannot be unique');
    if (path && opts.id !== undefined)
      throw new JobValidationError(
        at(path, 'options.id'),
        "a child's id is made from its parent's (<parent>-<index>); only the root takes an id",
      );
    const kids = n.children ?? [];
    if (!Array.isArray(kids))
      throw new JobValidationError(at(path, 'children'), 'must be an array');
    if (kids.length && (opts.delay !== undefined || opts.runAt !== undefined))
      throw new JobValidationError(
        at(path, opts.delay !== undefined ? 'options.delay' : 'options.runAt'),
        'a job with children runs when they end; it cannot be delayed',
      );
    let job: CompiledJob;
    try {
      job = compileSchedule(n.type, n.payload, id ? { ...opts, id } : opts, now);
    } catch (err) {
      if (err instanceof JobValidationError) {
        const f =
          err.field === 'type' || err.field === 'payload' ? err.field : `options.${err.field}`;
        throw new JobValidationError(
          at(path, f.replace(/^options\.options$/, 'options')),
          err.reason,
        );
      }
      throw err;
    }
    // A child's id is its parent's and its index: it dedupes by message id, not by record.
    if (path) job = { ...job, explicitId: false, parent };
    const children = kids.map((k, i) => {
      const p = `${at(path, 'children')}[${i}]`;
      const policy = k?.onFailure ?? 'fail';
      if (!(CHILD_FAILURE_POLICIES as readonly string[]).includes(policy))
        throw new JobValidationError(
          at(p, 'onFailure'),
          `${JSON.stringify(policy)} is not one of ${CHILD_FAILURE_POLICIES.join(', ')}`,
        );
      const childId = `${job.id}-${i}`;
      if (!LIMITS.idPattern.test(childId))
        throw new JobValidationError(
          at(p, 'id'),
          `the child id ${childId.slice(0, 80)}... is longer than 128 characters: nest less deeply or give the root a shorter id`,
        );
      return node(k, p, childId, { id: job.id, onFailure: policy, siblings: kids.length });
    });
    return { job, children };
  };
  return node(root, '', undefined, undefined);
}

/** The ids of a compiled flow, as `flow()` answers them. */
export function flowIds(f: CompiledFlow): FlowNode {
  return { id: f.job.id, type: f.job.type, children: f.children.map(flowIds) };
}
