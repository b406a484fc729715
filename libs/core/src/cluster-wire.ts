/**
 * Wire types of the coordination buckets, shared by the worker runtime (which
 * writes heartbeats and reads pause switches) and the cluster, scheduler and
 * monitor (which read them).
 */

export const NodeHeartbeatSchemaVersion = 1;

/** Value of `<prefix>_nodes.<nodeId>`, rewritten every heartbeat interval. */
export interface NodeHeartbeat {
  v: 1;
  nodeId: string;
  /** Job types this node runs. */
  types: string[];
  /** Leader roles this node competes for (scheduler, monitor). */
  roles: string[];
  /** maxConcurrentJobs. */
  capacity: number;
  /** Attempts running now. */
  inFlight: number;
  /** The running jobs (at most 100 listed). */
  running: Array<{ id: string; type: string; startedAt: number }>;
  /** Types held back: paused or unhealthy. */
  held: Record<string, string[]>;
  version: string;
  host: string;
  pid: number;
  /** ms since the epoch. */
  startedAt: number;
  /** When this heartbeat was written, ms since the epoch. */
  at: number;
  /** The node's heartbeat period, ms: a node silent for 3 periods is gone. */
  heartbeatIntervalMs: number;
}

/** Value of `<prefix>_control.paused.<type>`; the key's absence means running. */
export interface PauseRecord {
  paused: true;
  /** ms since the epoch. */
  at: number;
  by?: string;
}

export function pausedKey(type: string): string {
  return `paused.${type}`;
}

/**
 * The nodes bucket keeps a heartbeat one hour after its node went silent (for
 * post-mortems); liveness is judged by `at`, never by the key's presence.
 */
export const nodesBucketOptions = { history: 1, ttlMs: 3600_000 } as const;
