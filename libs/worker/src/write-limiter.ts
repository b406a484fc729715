/**
 * A FIFO limit on concurrent async work. The runner uses one per worker
 * instance for the `running` record writes: jobs that pass the running-record
 * delay together (thousands started at once) write their records a few dozen
 * at a time instead of holding thousands of broker requests in memory.
 */
export class WriteLimiter {
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  #head = 0;

  constructor(readonly limit: number) {}

  /** Run `fn` when a place is free. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#active >= this.limit) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#active++;
    }
    try {
      return await fn();
    } finally {
      this.#next();
    }
  }

  #next(): void {
    if (this.#head < this.#waiting.length) {
      const resolve = this.#waiting[this.#head++] as () => void;
      if (this.#head > 1024 && this.#head * 2 > this.#waiting.length) {
        this.#waiting.splice(0, this.#head);
        this.#head = 0;
      }
      resolve(); // the place passes straight to the next waiter
    } else {
      this.#active--;
    }
  }
}
