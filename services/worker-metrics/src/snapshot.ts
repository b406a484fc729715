/**
 * The wire format of `<prefix>_storage_metrics` (key = node id, value = JSON
 * `StorageNodeSnapshot`), read by the monitor, and the history rings kept in
 * each value.
 */
import { Names } from '@rfw/core';

/** Version of the snapshot format; bumped on incompatible changes. */
export const SNAPSHOT_SCHEMA = 1;

/** Name of the KV bucket holding the snapshots (`Names.storageMetricsBucket`). */
export function storageMetricsBucket(prefix: string): string {
  return new Names(prefix).storageMetricsBucket;
}

/** One point of a node's history. */
export interface MetricsSample {
  /** ms since the epoch. */
  at: number;
  online: boolean;
  /** Bytes (absent when offline or unknown). */
  freeBytes?: number;
  usedBytes?: number;
  /** Objects and bytes over all buckets. */
  objects: number;
  bytes: number;
  /** Canary latencies, ms (absent when the canary did not run or failed). */
  canaryPutMs?: number;
  canaryGetMs?: number;
  canaryDeleteMs?: number;
}

/** Usage of one bucket on one node. */
export interface BucketUsage {
  bucket: string;
  objects: number;
  /** Bytes. */
  bytes: number;
  /** The listing stopped at the configured limit: counts are lower bounds. */
  truncated?: boolean;
}

/** The canary probe: put, get (content checked) and delete of a small object. */
export interface CanaryResult {
  bucket: string;
  ok: boolean;
  /** Latency of each step that completed, ms. */
  putMs?: number;
  getMs?: number;
  deleteMs?: number;
  error?: string;
}

/** The value stored under a node id. */
export interface StorageNodeSnapshot {
  schema: typeof SNAPSHOT_SCHEMA;
  node: string;
  driver: string;
  /** When this snapshot was taken, ms since the epoch: a monitor treats an old one as stale. */
  collectedAt: number;
  /** Worker id of the metrics worker that took it. */
  collectedBy: string;
  /** The node answered its ping. */
  online: boolean;
  /** Why it is offline, or what failed while collecting. */
  error?: string;
  /** Ping round trip, ms. */
  pingMs?: number;
  capacity?: { totalBytes: number; freeBytes: number; usedBytes: number };
  buckets: BucketUsage[];
  canary?: CanaryResult;
  history: {
    /** Every sample of the last 60 s, oldest first. */
    lastMinute: MetricsSample[];
    /** One sample per minute (the last of that minute) for the last 60 min, oldest first. */
    lastHour: MetricsSample[];
  };
}

/** The snapshot without history, as a collection produces it. */
export type NodeReading = Omit<StorageNodeSnapshot, 'history'>;

/** The sample of a reading. */
export function sampleOf(r: NodeReading): MetricsSample {
  const s: MetricsSample = {
    at: r.collectedAt,
    online: r.online,
    objects: r.buckets.reduce((a, b) => a + b.objects, 0),
    bytes: r.buckets.reduce((a, b) => a + b.bytes, 0),
  };
  if (r.capacity) {
    s.freeBytes = r.capacity.freeBytes;
    s.usedBytes = r.capacity.usedBytes;
  }
  if (r.canary?.ok) {
    s.canaryPutMs = r.canary.putMs;
    s.canaryGetMs = r.canary.getMs;
    s.canaryDeleteMs = r.canary.deleteMs;
  }
  return s;
}

/** Adds a reading to the previous snapshot's history rings. */
export function withHistory(
  reading: NodeReading,
  previous: StorageNodeSnapshot | undefined,
): StorageNodeSnapshot {
  const s = sampleOf(reading);
  const minuteAgo = s.at - 60_000;
  const hourAgo = s.at - 3600_000;
  const lastMinute = [
    ...(previous?.history.lastMinute ?? []).filter((x) => x.at > minuteAgo && x.at < s.at),
    s,
  ].slice(-120);
  const minuteOf = (t: number): number => Math.floor(t / 60_000);
  const lastHour = (previous?.history.lastHour ?? []).filter(
    (x) => x.at > hourAgo && minuteOf(x.at) < minuteOf(s.at),
  );
  lastHour.push(s);
  return { ...reading, history: { lastMinute, lastHour: lastHour.slice(-60) } };
}
