/**
 * Ids of jobs that a cancel request named lately, so that a worker starting a
 * job on its recordless fast path (wire format v2: no record read before the
 * handler) still sees a cancel that reached it first. A cancel that this set
 * misses (it arrived later, or before this instance subscribed) is still
 * caught when the outcome is written: the canceller's record wins the
 * compare-and-set, and the job ends `cancelled` once.
 */
export class RecentCancels {
  readonly #at = new Map<string, number>();

  /**
   * @param ttlMs how long an id is remembered. @default 600000 (10 minutes)
   * @param max the most ids held; the oldest go first. @default 100000
   */
  constructor(
    private readonly ttlMs = 600_000,
    private readonly max = 100_000,
  ) {}

  add(id: string, now = Date.now()): void {
    this.#at.delete(id);
    this.#at.set(id, now);
    this.#trim(now);
  }

  has(id: string, now = Date.now()): boolean {
    const at = this.#at.get(id);
    return at !== undefined && now - at < this.ttlMs;
  }

  get size(): number {
    return this.#at.size;
  }

  #trim(now: number): void {
    for (const [id, at] of this.#at) {
      if (this.#at.size <= this.max && now - at < this.ttlMs) return;
      this.#at.delete(id);
    }
  }
}
