/** The running totals of a healing job: its result, and what its checkpoint carries. */

/** What was done (or, in a dry run, would be done) to one replica. */
export type HealAction =
  'healed' | 'would-heal' | 'failed' | 'skipped' | 'removed' | 'would-remove' | 'reported';

/** One replica that was not healthy. */
export interface HealIssue {
  bucket: string;
  key: string;
  node: string;
  /** missing | outdated | corrupt | unavailable | dangling */
  state: string;
  action: HealAction;
  detail?: string;
  bytes?: number;
}

export interface HealSummary {
  /** Objects examined. */
  scanned: number;
  /** Objects whose every replica in scope was ok. */
  healthy: number;
  /** Replicas rewritten from the authoritative copy (in a dry run: that would be). */
  healed: number;
  /** Replicas that needed repair and could not get it (no authority, copy failed). */
  failed: number;
  /** Replicas with damaged data: flipped bits, truncation, lost data file, conflicting content. */
  bitrot: number;
  /** Replicas absent from a node that should hold them. */
  missing: number;
  /** Replicas holding an older version. */
  outdated: number;
  /** Objects with no valid copy left. */
  dangling: number;
  /** Replicas of dangling objects removed (`removeDangling`). */
  removed: number;
  /** Replicas that could not be checked: node down or breaker open. */
  unavailable: number;
  /** Replicas left alone because they changed while the job ran. */
  skipped: number;
  /** Bytes written (in a dry run: that would be). */
  bytesHealed: number;
  /** Bytes of the replicas checked (deep: read and hashed; normal: sizes checked). */
  bytesScanned: number;
  dryRun: boolean;
  deep: boolean;
}

export function emptySummary(dryRun: boolean, deep: boolean): HealSummary {
  return {
    scanned: 0,
    healthy: 0,
    healed: 0,
    failed: 0,
    bitrot: 0,
    missing: 0,
    outdated: 0,
    dangling: 0,
    removed: 0,
    unavailable: 0,
    skipped: 0,
    bytesHealed: 0,
    bytesScanned: 0,
    dryRun,
    deep,
  };
}

/** Most issues a result lists; the rest are only counted. */
export const MAX_ISSUES = 1000;

/** Adds the counts of `delta` (one object's findings) to `into`. */
export function addSummary(into: HealSummary, delta: HealSummary): void {
  for (const k of Object.keys(into) as (keyof HealSummary)[]) {
    const v = delta[k];
    if (typeof v === 'number') (into[k] as number) += v;
  }
}
