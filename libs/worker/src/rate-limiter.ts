/**
 * A token bucket whose rate is this instance's share of a cluster-wide limit:
 * `limitPerSecond / liveInstancesOfType`, re-read from the nodes bucket on
 * every heartbeat. Hand-written because it is a dozen lines and must change
 * its rate at run time, which the common limiter packages do not offer.
 */
export class TokenBucket {
  #tokens: number;
  #last = Date.now();
  #rate: number;

  constructor(ratePerSecond: number) {
    this.#rate = ratePerSecond;
    this.#tokens = Math.max(1, ratePerSecond);
  }

  get rate(): number {
    return this.#rate;
  }

  setRate(ratePerSecond: number): void {
    this.refill();
    this.#rate = ratePerSecond;
    this.#tokens = Math.min(this.#tokens, Math.max(1, ratePerSecond));
  }

  private refill(): void {
    const now = Date.now();
    this.#tokens = Math.min(
      Math.max(1, this.#rate),
      this.#tokens + ((now - this.#last) / 1000) * this.#rate,
    );
    this.#last = now;
  }

  /** Take a token; 0 when granted, else ms until one is available. */
  take(): number {
    this.refill();
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.#tokens) / this.#rate) * 1000);
  }
}
