/** Why a running handler's signal fired; `signal.reason` is one of these. */
export class AbortReason extends Error {
  constructor(
    /**
     * What fired it: the attempt's timeout, a cancel request for the job, or
     * the manager's shutdown grace running out.
     */
    readonly kind: 'timeout' | 'cancelled' | 'shutdown',
    message: string,
  ) {
    super(message);
    this.name = 'AbortReason';
  }
}

/**
 * A job's abort switch. The `AbortController` behind `signal` is made only
 * when a handler reads the signal: with thousands of short jobs a second,
 * most never do, and a controller with its event target is a large part of
 * what a running job costs.
 */
export class JobAbort {
  #controller?: AbortController;
  #reason?: AbortReason;
  #onAbort?: () => void;

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#reason) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  get aborted(): boolean {
    return this.#reason !== undefined;
  }

  get reason(): AbortReason | undefined {
    return this.#reason;
  }

  /** Fire once; later calls are ignored. */
  abort(reason: AbortReason): void {
    if (this.#reason) return;
    this.#reason = reason;
    this.#controller?.abort(reason);
    const cb = this.#onAbort;
    this.#onAbort = undefined;
    cb?.();
  }

  /** One internal listener (the runner's grace timer); replaced by the next call. */
  onAbort(cb: (() => void) | undefined): void {
    this.#onAbort = cb;
  }
}
