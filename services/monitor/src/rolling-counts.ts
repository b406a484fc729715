/**
 * Event counts per (type, priority, state) in time buckets over a bounded
 * span: enough to answer "how many X in the last N ms" and to draw a rate
 * timeline, in O(series x buckets) memory.
 */

/** One counted series. `epochs[i]` is the bucket number that `counts[i]` holds. */
interface Series {
  type: string;
  priority: string;
  state: string;
  counts: Float64Array;
  epochs: Float64Array;
}

export interface CountFilter {
  type?: string;
  priority?: string;
}

export class RollingCounts {
  readonly #series = new Map<string, Series>();
  readonly #len: number;

  /**
   * @param bucketMs width of one bucket, ms
   * @param spanMs how far back counts are kept, ms
   */
  constructor(
    readonly bucketMs: number,
    readonly spanMs: number,
  ) {
    this.#len = Math.ceil(spanMs / bucketMs) + 2;
  }

  add(type: string, priority: string, state: string, at: number, n = 1): void {
    const key = `${type}\u0000${priority}\u0000${state}`;
    let s = this.#series.get(key);
    if (!s) {
      s = {
        type,
        priority,
        state,
        counts: new Float64Array(this.#len),
        epochs: new Float64Array(this.#len).fill(-1),
      };
      this.#series.set(key, s);
    }
    const epoch = Math.floor(at / this.bucketMs);
    const i = epoch % this.#len;
    if (s.epochs[i] !== epoch) {
      // An older event than the ring holds is dropped; a newer one recycles the slot.
      if ((s.epochs[i] as number) > epoch) return;
      s.epochs[i] = epoch;
      s.counts[i] = 0;
    }
    s.counts[i] = (s.counts[i] as number) + n;
  }

  /** Events in `states` within the last `windowMs` before `now` (bucket granularity). */
  count(states: readonly string[], windowMs: number, filter: CountFilter = {}, now = Date.now()) {
    const last = Math.floor(now / this.bucketMs);
    const first = last - Math.ceil(windowMs / this.bucketMs) + 1;
    let total = 0;
    for (const s of this.#series.values()) {
      if (!states.includes(s.state)) continue;
      if (filter.type !== undefined && s.type !== filter.type) continue;
      if (filter.priority !== undefined && s.priority !== filter.priority) continue;
      for (let i = 0; i < this.#len; i++) {
        const e = s.epochs[i] as number;
        if (e >= first && e <= last) total += s.counts[i] as number;
      }
    }
    return total;
  }

  /** Counts per (type, priority) of each state within the window. */
  byQueue(windowMs: number, now = Date.now()): Map<string, Map<string, Record<string, number>>> {
    const last = Math.floor(now / this.bucketMs);
    const first = last - Math.ceil(windowMs / this.bucketMs) + 1;
    const out = new Map<string, Map<string, Record<string, number>>>();
    for (const s of this.#series.values()) {
      let n = 0;
      for (let i = 0; i < this.#len; i++) {
        const e = s.epochs[i] as number;
        if (e >= first && e <= last) n += s.counts[i] as number;
      }
      if (n === 0) continue;
      let byPrio = out.get(s.type);
      if (!byPrio) out.set(s.type, (byPrio = new Map()));
      const cell = byPrio.get(s.priority) ?? {};
      cell[s.state] = (cell[s.state] ?? 0) + n;
      byPrio.set(s.priority, cell);
    }
    return out;
  }

  /**
   * Counts of `states` in `points` consecutive steps of `stepMs` ending now,
   * oldest first: a timeline for a sparkline.
   */
  timeline(
    states: readonly string[],
    stepMs: number,
    points: number,
    filter: CountFilter = {},
    now = Date.now(),
  ): number[] {
    const out = new Array<number>(points).fill(0);
    const end = (Math.floor(now / this.bucketMs) + 1) * this.bucketMs;
    const start = end - stepMs * points;
    for (const s of this.#series.values()) {
      if (!states.includes(s.state)) continue;
      if (filter.type !== undefined && s.type !== filter.type) continue;
      if (filter.priority !== undefined && s.priority !== filter.priority) continue;
      for (let i = 0; i < this.#len; i++) {
        const t = (s.epochs[i] as number) * this.bucketMs;
        if (t < start || t >= end) continue;
        const p = Math.floor((t - start) / stepMs);
        out[p] = (out[p] as number) + (s.counts[i] as number);
      }
    }
    return out;
  }
}
