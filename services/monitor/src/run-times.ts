/**
 * Recent attempt run times per queue (type and priority), from the
 * `durationMs` of job events, for the dashboard's percentiles. Each queue
 * keeps its latest samples in a fixed ring, so memory is bounded whatever
 * the event rate; percentiles are over the samples still inside the window.
 */
const RING = 1024;

class Ring {
  readonly at = new Float64Array(RING);
  readonly ms = new Float64Array(RING);
  next = 0;
  size = 0;

  push(at: number, ms: number): void {
    this.at[this.next] = at;
    this.ms[this.next] = ms;
    this.next = (this.next + 1) % RING;
    this.size = Math.min(RING, this.size + 1);
  }
}

/** Run-time percentiles of one queue, ms. */
export interface RunTimeStats {
  /** Samples in the window (at most the last 1024 attempts). */
  count: number;
  p50: number;
  p99: number;
}

export class RunTimes {
  readonly #rings = new Map<string, Ring>();

  /** Record an attempt of `durationMs` that ended at `at` (ms since the epoch). */
  record(type: string, priority: string, at: number, durationMs: number): void {
    const key = `${type}\u0000${priority}`;
    let r = this.#rings.get(key);
    if (!r) this.#rings.set(key, (r = new Ring()));
    r.push(at, durationMs);
  }

  /** p50 and p99 (nearest rank) of the queue's attempts that ended within `windowMs`. */
  stats(type: string, priority: string, windowMs: number, now = Date.now()): RunTimeStats {
    const r = this.#rings.get(`${type}\u0000${priority}`);
    const xs: number[] = [];
    if (r)
      for (let i = 0; i < r.size; i++) if (now - (r.at[i] ?? 0) <= windowMs) xs.push(r.ms[i] ?? 0);
    if (xs.length === 0) return { count: 0, p50: 0, p99: 0 };
    xs.sort((a, b) => a - b);
    const rank = (q: number): number => xs[Math.max(0, Math.ceil(q * xs.length) - 1)] ?? 0;
    return { count: xs.length, p50: rank(0.5), p99: rank(0.99) };
  }
}
