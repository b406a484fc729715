/**
 * Keeps the next item of an async iterator in flight while the caller works
 * on the current one: a sweep lists page n+1 while it heals page n, so the
 * disks and the CPU are not idle in turn.
 */

/**
 * Yields what `source` yields, asking it for the next item as soon as the
 * current one is handed out (one item ahead, never more).
 * @throws whatever `source` throws, when the caller reaches that item
 */
export async function* prefetch<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  let next = it.next();
  try {
    for (;;) {
      const r = await next;
      if (r.done) return;
      next = it.next();
      // An early exit of the caller must not leave an unhandled rejection behind.
      next.catch(() => undefined);
      yield r.value;
    }
  } finally {
    // Once `next` settles, stop the source; a pending one is stopped by its own end.
    void next.then(
      (r) => (r.done ? undefined : it.return?.()),
      () => undefined,
    );
  }
}
