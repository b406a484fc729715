import type { EventStreamHub } from '../events-stream.js';
import type { JobMonitor } from '../job-monitor.js';
import type { ClusterSnapshot } from '../cluster-view.js';

/** What the route plugins of the admin API share. */
export interface RouteDeps {
  monitor: JobMonitor;
  /** The monitor's queue client. */
  queue: JobMonitor['queue'];
  /** The latest cluster snapshot, refreshing it when there is none yet. */
  fresh: () => Promise<ClusterSnapshot>;
  /** How long a search waits for the indexing worker, ms. */
  searchTimeoutMs: number;
  events: EventStreamHub;
}
