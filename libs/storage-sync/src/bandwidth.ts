/**
 * A bandwidth limit shared by every transfer of a process: a token bucket
 * refilled at `bytesPerSecond`, holding at most a tenth of a second of burst,
 * served in arrival order so concurrent transfers share it fairly.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

/** Largest piece released at once; bigger chunks are split so one transfer cannot hog the budget. */
const SLICE = 64 * 1024;

export class Bandwidth {
  /** The limit, bytes per second. */
  readonly bytesPerSecond: number;
  readonly #burst: number;
  #tokens: number;
  #last = performance.now();
  #tail: Promise<void> = Promise.resolve();

  /**
   * @param bytesPerSecond the limit, > 0
   * @throws RangeError when `bytesPerSecond` is not a positive finite number
   */
  constructor(bytesPerSecond: number) {
    if (!(Number.isFinite(bytesPerSecond) && bytesPerSecond > 0))
      throw new RangeError(`bytesPerSecond must be > 0, got ${bytesPerSecond}`);
    this.bytesPerSecond = bytesPerSecond;
    this.#burst = Math.max(SLICE, bytesPerSecond / 10);
    this.#tokens = this.#burst;
  }

  /** Resolves when `bytes` may pass; rejects with the signal's reason when it fires first. */
  take(bytes: number, signal?: AbortSignal): Promise<void> {
    const turn = this.#tail.then(() => this.#wait(bytes, signal));
    this.#tail = turn.catch(() => undefined);
    return turn;
  }

  async #wait(bytes: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const now = performance.now();
    this.#tokens = Math.min(
      this.#burst,
      this.#tokens + ((now - this.#last) / 1000) * this.bytesPerSecond,
    );
    this.#last = now;
    this.#tokens -= bytes;
    if (this.#tokens < 0) {
      await sleep((-this.#tokens / this.bytesPerSecond) * 1000, undefined, { signal });
    }
  }

  /** A pass-through stream that releases bytes no faster than the shared limit. */
  stream(signal?: AbortSignal): Transform {
    const take = (n: number): Promise<void> => this.take(n, signal);
    return new Transform({
      transform(this: Transform, chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
        void (async () => {
          for (let off = 0; off < chunk.length; off += SLICE) {
            const piece = chunk.subarray(off, off + SLICE);
            await take(piece.length);
            this.push(piece);
          }
        })().then(() => cb(), cb);
      },
    });
  }
}
