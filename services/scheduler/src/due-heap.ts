/**
 * A binary min-heap of `(runAt, seq)` pairs in two growable `Float64Array`s:
 * 16 bytes a delayed job, for the jobs whose message the releaser does not
 * keep in memory (it reads the message back by `seq` when the job is due).
 * Ordered by `runAt`, ties by `seq`. No removal by key: a job cancelled while
 * it waits here is dropped when due, by the record check every release makes.
 */
export class DueHeap {
  #runAt = new Float64Array(1024);
  #seq = new Float64Array(1024);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(runAt: number, seq: number): void {
    if (this.#size === this.#runAt.length) this.#grow();
    let i = this.#size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#lessThan(runAt, seq, p)) break;
      this.#move(p, i);
      i = p;
    }
    this.#runAt[i] = runAt;
    this.#seq[i] = seq;
  }

  /** The earliest pair's due time, or `Infinity` when empty. */
  peekRunAt(): number {
    return this.#size === 0 ? Infinity : (this.#runAt[0] as number);
  }

  /** Remove the earliest pair; `undefined` when empty. */
  pop(): { runAt: number; seq: number } | undefined {
    if (this.#size === 0) return undefined;
    const top = { runAt: this.#runAt[0] as number, seq: this.#seq[0] as number };
    const last = --this.#size;
    const runAt = this.#runAt[last] as number;
    const seq = this.#seq[last] as number;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= last) break;
      const r = l + 1;
      const m = r < last && this.#less(r, l) ? r : l;
      if (!this.#lessAt(m, runAt, seq)) break;
      this.#move(m, i);
      i = m;
    }
    if (last > 0) {
      this.#runAt[i] = runAt;
      this.#seq[i] = seq;
    }
    if (this.#runAt.length > 4096 && this.#size < this.#runAt.length / 4) this.#shrink();
    return top;
  }

  clear(): void {
    this.#runAt = new Float64Array(1024);
    this.#seq = new Float64Array(1024);
    this.#size = 0;
  }

  /** Whether `(runAt, seq)` sorts before the pair at `i`. */
  #lessThan(runAt: number, seq: number, i: number): boolean {
    const r = this.#runAt[i] as number;
    return runAt < r || (runAt === r && seq < (this.#seq[i] as number));
  }

  /** Whether the pair at `i` sorts before `(runAt, seq)`. */
  #lessAt(i: number, runAt: number, seq: number): boolean {
    const r = this.#runAt[i] as number;
    return r < runAt || (r === runAt && (this.#seq[i] as number) < seq);
  }

  #less(i: number, j: number): boolean {
    return this.#lessAt(i, this.#runAt[j] as number, this.#seq[j] as number);
  }

  #move(from: number, to: number): void {
    this.#runAt[to] = this.#runAt[from] as number;
    this.#seq[to] = this.#seq[from] as number;
  }

  #grow(): void {
    this.#resize(this.#runAt.length * 2);
  }

  #shrink(): void {
    this.#resize(Math.max(1024, this.#runAt.length / 2));
  }

  #resize(capacity: number): void {
    const runAt = new Float64Array(capacity);
    const seq = new Float64Array(capacity);
    runAt.set(this.#runAt.subarray(0, this.#size));
    seq.set(this.#seq.subarray(0, this.#size));
    this.#runAt = runAt;
    this.#seq = seq;
  }
}
