/**
 * What a cleanup run did (or, in dry-run mode, would do): the job's result,
 * and the counters behind the service's metrics.
 */
import { Counter, type Registry } from 'prom-client';

/** Why something was deleted. */
export const CleanupReason = {
  /** A configured lifecycle rule. */
  Lifecycle: 'lifecycle',
  /** A payload's `maxAgeMs` (the seed's max_file_age). */
  MaxAge: 'max-age',
  TempFile: 'temp-file',
  PartialUpload: 'partial-upload',
  /** A data file no metadata references (crash leftover). */
  OrphanData: 'orphan-data',
  JobRecord: 'job-record',
  Event: 'event',
} as const;
export type CleanupReason = (typeof CleanupReason)[keyof typeof CleanupReason];

/** Why something selected was left alone. */
export const SkipReason = {
  /** Changed (new version or mtime) between selection and delete. */
  Modified: 'modified',
  /** A replication job for it is still pending, running or retrying. */
  ReplicationPending: 'replication-pending',
  /** Already gone when we came to delete it. */
  Gone: 'gone',
  /** A partial upload that got a new part since it was selected. */
  Active: 'active',
  /** A job record that changed (e.g. retried) since it was selected. */
  Changed: 'changed',
} as const;
export type SkipReason = (typeof SkipReason)[keyof typeof SkipReason];

/** One thing deleted (or that a dry run would delete). */
export interface CleanupItem {
  reason: CleanupReason;
  node?: string;
  bucket?: string;
  key?: string;
  /** Temp file name, upload id or job id. */
  name?: string;
  size?: number;
  /** ms since the epoch. */
  mtime?: number;
}

/** The job result of a cleanup run. */
export interface CleanupResult {
  dryRun: boolean;
  /** Per reason: objects (files, uploads, records) and bytes deleted, or that would be. */
  deleted: Partial<Record<CleanupReason, { objects: number; bytes: number }>>;
  skipped: Partial<Record<SkipReason, number>>;
  errors: number;
  /** The first errors, for the record. */
  errorSamples: Array<{ node?: string; target: string; message: string }>;
  /** Dry run: what would be deleted (at most `MAX_ITEMS`, see `itemsTruncated`). */
  items?: CleanupItem[];
  itemsTruncated?: boolean;
  durationMs: number;
}

/** Items listed in a dry-run result at most (the result lives in the job record). */
export const MAX_ITEMS = 1000;
const MAX_ERROR_SAMPLES = 20;

/** The service's cleanup counters, registered once. */
export class CleanupMetrics {
  readonly deletedObjects: Counter<'reason'>;
  readonly deletedBytes: Counter<'reason'>;
  readonly skipped: Counter<'reason'>;
  readonly errors: Counter<'kind'>;

  constructor(registry?: Registry) {
    const registers = registry ? [registry] : [];
    this.deletedObjects = new Counter({
      name: 'rfw_cleanup_deleted_objects_total',
      help: 'Objects, files, uploads and records deleted by cleanup',
      labelNames: ['reason'],
      registers,
    });
    this.deletedBytes = new Counter({
      name: 'rfw_cleanup_deleted_bytes_total',
      help: 'Bytes freed by cleanup',
      labelNames: ['reason'],
      registers,
    });
    this.skipped = new Counter({
      name: 'rfw_cleanup_skipped_total',
      help: 'Selected for deletion but left alone',
      labelNames: ['reason'],
      registers,
    });
    this.errors = new Counter({
      name: 'rfw_cleanup_errors_total',
      help: 'Cleanup operations that failed',
      labelNames: ['kind'],
      registers,
    });
  }
}

/** Accumulates one run's outcome; counters are only bumped for real (not dry-run) deletes. */
export class CleanupReport {
  private readonly result: Omit<CleanupResult, 'durationMs'>;
  private readonly started = Date.now();

  constructor(
    readonly dryRun: boolean,
    private readonly metrics: CleanupMetrics,
    private readonly updateMetrics: (name: string, value: number) => void,
  ) {
    this.result = { dryRun, deleted: {}, skipped: {}, errors: 0, errorSamples: [] };
    if (dryRun) this.result.items = [];
  }

  deleted(item: CleanupItem): void {
    const size = item.size ?? 0;
    const d = (this.result.deleted[item.reason] ??= { objects: 0, bytes: 0 });
    d.objects++;
    d.bytes += size;
    if (this.dryRun) {
      if (this.result.items!.length < MAX_ITEMS) this.result.items!.push(item);
      else this.result.itemsTruncated = true;
      return;
    }
    this.metrics.deletedObjects.inc({ reason: item.reason });
    if (size > 0) this.metrics.deletedBytes.inc({ reason: item.reason }, size);
    this.updateMetrics(`deleted_${item.reason}`, 1);
  }

  /** Counts many deletions at once (listed in neither `items` nor the per-item counter). */
  deletedMany(reason: CleanupReason, objects: number, bytes = 0): void {
    const d = (this.result.deleted[reason] ??= { objects: 0, bytes: 0 });
    d.objects += objects;
    d.bytes += bytes;
    if (this.dryRun) return;
    this.metrics.deletedObjects.inc({ reason }, objects);
    if (bytes > 0) this.metrics.deletedBytes.inc({ reason }, bytes);
    this.updateMetrics(`deleted_${reason}`, objects);
  }

  skipped(reason: SkipReason, n = 1): void {
    this.result.skipped[reason] = (this.result.skipped[reason] ?? 0) + n;
    if (!this.dryRun) this.metrics.skipped.inc({ reason }, n);
  }

  error(kind: string, target: string, err: unknown, node?: string): void {
    this.result.errors++;
    this.metrics.errors.inc({ kind });
    this.updateMetrics('errors', 1);
    if (this.result.errorSamples.length < MAX_ERROR_SAMPLES) {
      this.result.errorSamples.push({
        ...(node ? { node } : {}),
        target,
        message: (err as Error)?.message ?? String(err),
      });
    }
  }

  /** Deleted (or would-be-deleted) count over all reasons. */
  get total(): number {
    return Object.values(this.result.deleted).reduce((a, d) => a + d.objects, 0);
  }

  finish(): CleanupResult {
    return { ...this.result, durationMs: Date.now() - this.started };
  }
}
