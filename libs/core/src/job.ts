/**
 * The job model: what a job is, independent of how it travels on the wire.
 * Wire encodings live in `wire.ts`.
 */

/** Job priorities, highest first. */
export const Priority = {
  Critical: 'critical',
  High: 'high',
  Normal: 'normal',
  Low: 'low',
} as const;
/** A job priority: `critical`, `high`, `normal` or `low`. */
export type Priority = (typeof Priority)[keyof typeof Priority];
/** All priorities in dispatch order, highest first. */
export const PRIORITIES: readonly Priority[] = ['critical', 'high', 'normal', 'low'];

/** Lifecycle states of a job. `succeeded`, `dead` and `cancelled` are terminal. */
export const JobState = {
  Pending: 'pending',
  Delayed: 'delayed',
  /** A flow's parent, until its children have ended (see `JobQueue.flow()`). */
  Waiting: 'waiting',
  Running: 'running',
  Retrying: 'retrying',
  Succeeded: 'succeeded',
  Dead: 'dead',
  Cancelled: 'cancelled',
} as const;
/** A job's lifecycle state. */
export type JobState = (typeof JobState)[keyof typeof JobState];
/** Every job state. */
export const JOB_STATES: readonly JobState[] = Object.values(JobState);
/** The states a job never leaves: `succeeded`, `dead` and `cancelled`. */
export const TERMINAL_STATES: ReadonlySet<JobState> = new Set(['succeeded', 'dead', 'cancelled']);

/** One recorded transition of a job. */
export interface JobTransition {
  /** The state the job entered. */
  state: JobState;
  /** When it happened, ms since the epoch. */
  at: number;
  /** The attempt it belongs to, from 1; on transitions a worker made. */
  attempt?: number;
  /** The worker that made the transition. */
  workerId?: string;
  /**
   * On `retrying` and `dead`: the error (or the dead reason when there was
   * none); on a skipped success, `skipped: <reason>`.
   */
  error?: string;
  /**
   * On terminal transitions: the stream sequence of the job message that
   * ended the job (the id of its terminal event, see `outcomeEventId`).
   */
  seq?: number;
}

/** A job as `JobQueue.get()` and `list()` return it. */
export interface Job<P = unknown> {
  /** The job id: the idempotency key, also the `Nats-Msg-Id` of its first publish. */
  id: string;
  /** The job type, e.g. `replication`. */
  type: string;
  /** The priority it is dispatched at. */
  priority: Priority;
  /** The payload as scheduled (JSON). */
  payload: P;
  /** The current lifecycle state. */
  state: JobState;
  /** Retries after the first attempt; a job runs at most `maxRetries + 1` times. */
  maxRetries: number;
  /** Per-attempt timeout in ms. */
  timeoutMs: number;
  /** Retry backoff for this job, overriding its type's. */
  backoff?: JobBackoff;
  /** Attempts started so far (counted by the runtime, not the broker). */
  attempts: number;
  /** ms since the epoch. */
  createdAt: number;
  /** When the job may run, ms since the epoch (equals createdAt unless delayed). */
  runAt: number;
  /** When the state last changed, ms since the epoch. */
  updatedAt: number;
  /** The error of the last failed attempt. */
  lastError?: string;
  /** The worker that last ran the job. */
  workerId?: string;
  /** What the handler returned on success (JSON). */
  result?: unknown;
  /** Why the job is dead, when it is. */
  deadReason?: string;
  /** Transitions, oldest first, with their timestamps. */
  history: JobTransition[];
  /** Where the job's message currently sits, while pending or delayed. */
  location?: { stream: string; seq: number };
  /** On a child of a flow: its parent, and what the child's failure does to it. */
  parent?: ParentRef;
  /** On a flow's parent: how many children it waits for, and (from `get()`) how far they are. */
  flow?: FlowState;
}

/**
 * What a child's failure (it ended `dead` or `cancelled`) does to its parent:
 * `fail` ends the parent `dead` at once; `continue` runs the parent once all
 * children ended and hands it the failure; `ignore` runs it too, without the
 * failure in its children's results (counted as `ignored`).
 */
export type ChildFailurePolicy = 'fail' | 'continue' | 'ignore';
/** Every child failure policy. */
export const CHILD_FAILURE_POLICIES: readonly ChildFailurePolicy[] = ['fail', 'continue', 'ignore'];

/** A flow child's link to its parent. */
export interface ParentRef {
  /** The parent's id. */
  id: string;
  /** What this child's failure does to the parent. */
  onFailure: ChildFailurePolicy;
  /** How many children the parent has (this one included). */
  siblings: number;
}

/** A flow parent's children, counted. */
export interface FlowSummary {
  /** How many children the parent waits for. */
  children: number;
  /** Children that ended `succeeded` (filled in by `get()`). */
  succeeded?: number;
  /** Children that ended `dead`. */
  dead?: number;
  /** Children that ended `cancelled`. */
  cancelled?: number;
}

/** A flow parent's record field: its summary, and the claim on its release while it is made. */
export interface FlowState extends FlowSummary {
  /**
   * While the parent is being released: who claimed the release, at which
   * count of endings (see flow-state.ts); gone once it is `pending`.
   */
  releasing?: { by: string; count: number };
}

/** Retry delay = min(capMs, baseMs * factor^(retry-1)), with full jitter. */
export interface JobBackoff {
  /** Delay before the first retry, ms (before jitter); > 0. */
  baseMs: number;
  /** Growth of the delay per further retry; >= 1. */
  factor: number;
  /** Longest delay, ms; >= baseMs. */
  capMs: number;
}

/** Limits on user-visible names. */
export const LIMITS = {
  /** Job type names: lowercase letters, digits, `-` and `_`; a NATS subject token. */
  typePattern: /^[a-z0-9][a-z0-9_-]{0,63}$/,
  /** Job ids: letters, digits, `-` and `_`; a NATS KV key and subject token. */
  idPattern: /^[A-Za-z0-9_-]{1,128}$/,
  maxHistory: 50,
} as const;

/** Defaults of `schedule()` options and worker settings. */
export const DEFAULTS = {
  maxRetries: 3,
  timeoutMs: 300_000,
  priority: 'normal' as Priority,
} as const;
