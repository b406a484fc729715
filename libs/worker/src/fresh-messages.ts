/**
 * Which job messages may skip the record read on their first delivery (wire
 * format v2: a job on its own subject has no record until its outcome).
 *
 * A delivery count of 1 proves that no consumer delivered a message before
 * only while the consumer's state is intact. A consumer deleted and created
 * again, or a server that lost its consumer state in a crash, delivers old
 * messages as new, and one of them may already have run. So a message is
 * fresh only if it was stored after this instance last (re)attached: after
 * its start, after a reader of the stream started again, and after every
 * reconnect. Older messages take the read path, which finds a finished job's
 * record and does not run it again.
 */
import type { CoreContext } from '@rfw/core/internal';

export class FreshMessages {
  /** Messages at or below this stream sequence are not fresh. */
  #floor = Number.POSITIVE_INFINITY;
  #pending: Promise<void> | undefined;

  constructor(private readonly core: Pick<CoreContext, 'jsm' | 'names'>) {}

  /** Nothing is fresh until the next `attach()` has read the stream's last sequence. */
  detach(): void {
    this.#floor = Number.POSITIVE_INFINITY;
  }

  /** Every message stored from now on is fresh. Resolves once that holds. */
  attach(): Promise<void> {
    this.detach();
    const p = this.core.jsm.streams.info(this.core.names.jobsStream).then((info) => {
      if (this.#pending === p) this.#floor = info.state.last_seq;
    });
    this.#pending = p;
    return p;
  }

  isFresh(seq: number): boolean {
    return seq > this.#floor;
  }
}
