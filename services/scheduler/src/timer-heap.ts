/**
 * A binary min-heap of entries ordered by `runAt` (ties by `seq`), with
 * removal by key: removed entries stay in the array and are skipped when they
 * reach the top (lazy deletion keeps push and pop O(log n)).
 */
export interface HeapEntry {
  /** When the entry is due, ms since the epoch. */
  runAt: number;
  /** Unique key (the delayed stream sequence). */
  seq: number;
}

export class TimerHeap<T extends HeapEntry> {
  #heap: T[] = [];
  readonly #live = new Map<number, T>();

  get size(): number {
    return this.#live.size;
  }

  has(seq: number): boolean {
    return this.#live.has(seq);
  }

  get(seq: number): T | undefined {
    return this.#live.get(seq);
  }

  push(e: T): boolean {
    if (this.#live.has(e.seq)) return false;
    this.#live.set(e.seq, e);
    const h = this.#heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i] as T, h[p] as T)) break;
      [h[i], h[p]] = [h[p] as T, h[i] as T];
      i = p;
    }
    return true;
  }

  /** The earliest live entry, without removing it. */
  peek(): T | undefined {
    this.#dropDead();
    return this.#heap[0];
  }

  /** Remove and return the earliest live entry. */
  pop(): T | undefined {
    this.#dropDead();
    const top = this.#heap[0];
    if (top === undefined) return undefined;
    this.#removeTop();
    this.#live.delete(top.seq);
    return top;
  }

  /** Forget an entry (it will not be returned). */
  remove(seq: number): T | undefined {
    const e = this.#live.get(seq);
    this.#live.delete(seq);
    if (this.#heap.length > 1024 && this.#heap.length > 2 * this.#live.size) this.#compact();
    return e;
  }

  clear(): void {
    this.#heap = [];
    this.#live.clear();
  }

  #dropDead(): void {
    while (this.#heap.length && this.#live.get((this.#heap[0] as T).seq) !== this.#heap[0])
      this.#removeTop();
  }

  #removeTop(): void {
    const h = this.#heap;
    const last = h.pop() as T;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && less(h[l] as T, h[m] as T)) m = l;
      if (r < h.length && less(h[r] as T, h[m] as T)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m] as T, h[i] as T];
      i = m;
    }
  }

  #compact(): void {
    const entries = [...this.#live.values()];
    this.#heap = [];
    this.#live.clear();
    for (const e of entries) this.push(e);
  }
}

function less(a: HeapEntry, b: HeapEntry): boolean {
  return a.runAt < b.runAt || (a.runAt === b.runAt && a.seq < b.seq);
}
