/**
 * The progress bar of a followed job (cli-progress), on stderr. On a terminal
 * it redraws in place; elsewhere (CI logs, pipes) it prints a line every few
 * seconds and a last one when the job ends.
 */
import cliProgress from 'cli-progress';
import type { Writable } from 'node:stream';

export interface BarState {
  /** Job state or phase shown first on the line. */
  state: string;
  message?: string;
}

const KNOWN = '{state} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted} | {message}';
const UNKNOWN = '{state} {value} done | {duration_formatted} | {message}';

export class ProgressBar {
  readonly #bar: cliProgress.SingleBar;
  #totalKnown = false;
  #value = 0;
  #stopped = false;

  constructor(stream: Writable & { isTTY?: boolean }, notTtyIntervalMs = 5000) {
    this.#bar = new cliProgress.SingleBar({
      stream,
      noTTYOutput: true,
      notTTYSchedule: notTtyIntervalMs,
      hideCursor: stream.isTTY === true,
      etaBuffer: 20,
      barsize: 30,
      format: (options, params, payload: BarState & { totalKnown: boolean }) =>
        cliProgress.Format.Formatter(
          { ...options, format: payload.totalKnown ? KNOWN : UNKNOWN },
          params,
          { ...payload, message: payload.message ?? '' },
        ).trimEnd(),
    });
    this.#bar.start(0, 0, { state: 'pending', message: 'waiting for a worker', totalKnown: false });
  }

  /** A state change without new counts. */
  state(s: BarState): void {
    if (this.#stopped) return;
    this.#bar.update(this.#value, { ...s, totalKnown: this.#totalKnown });
  }

  /** A progress report: `done` of `total` (when known) units. */
  progress(done: number, total: number | undefined, s: BarState): void {
    if (this.#stopped) return;
    if (total !== undefined && total >= 0) {
      this.#totalKnown = true;
      this.#bar.setTotal(total);
    }
    this.#value = done;
    this.#bar.update(done, { ...s, totalKnown: this.#totalKnown });
  }

  /** Draw the last state and release the terminal line. Safe to call twice. */
  stop(s?: BarState): void {
    if (this.#stopped) return;
    if (s) this.#bar.update(this.#value, { ...s, totalKnown: this.#totalKnown });
    this.#stopped = true;
    this.#bar.stop();
  }
}
