/**
 * A fan-out event channel: every subscriber gets its own async iterator with
 * its own queue, so a slow reader never holds up the others, and `close()`
 * ends every iterator.
 */

/** Events kept for a subscriber that is not reading; older ones are dropped past this. */
const MAX_QUEUED = 10_000;

export class EventChannel<T> {
  readonly #subscribers = new Set<Subscriber<T>>();
  readonly #listeners = new Set<(event: T) => void>();
  #closed = false;

  /** Deliver an event to every subscriber and listener. */
  emit(event: T): void {
    if (this.#closed) return;
    for (const s of this.#subscribers) s.push(event);
    for (const l of this.#listeners) {
      try {
        l(event);
      } catch {
        // A listener's bug must not break the producer.
      }
    }
  }

  /** Call `listener` for each event; returns the unsubscribe function. */
  on(listener: (event: T) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** An iterator over events emitted from now on; it ends when the channel closes or on `break`. */
  subscribe(): AsyncIterableIterator<T> {
    const sub = new Subscriber<T>(() => this.#subscribers.delete(sub));
    if (this.#closed) sub.end();
    else this.#subscribers.add(sub);
    return sub;
  }

  close(): void {
    this.#closed = true;
    for (const s of this.#subscribers) s.end();
    this.#subscribers.clear();
    this.#listeners.clear();
  }
}

class Subscriber<T> implements AsyncIterableIterator<T> {
  readonly #queue: T[] = [];
  #waiting?: (r: IteratorResult<T>) => void;
  #done = false;

  constructor(private readonly onEnd: () => void) {}

  push(event: T): void {
    if (this.#done) return;
    if (this.#waiting) {
      const w = this.#waiting;
      this.#waiting = undefined;
      w({ value: event, done: false });
      return;
    }
    this.#queue.push(event);
    if (this.#queue.length > MAX_QUEUED) this.#queue.shift();
  }

  end(): void {
    if (this.#done) return;
    this.#done = true;
    this.onEnd();
    const w = this.#waiting;
    this.#waiting = undefined;
    w?.({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<T>> {
    const value = this.#queue.shift();
    if (value !== undefined) return Promise.resolve({ value, done: false });
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.#waiting = resolve));
  }

  return(): Promise<IteratorResult<T>> {
    this.#queue.length = 0;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
