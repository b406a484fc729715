/**
 * Circuit breakers (opossum), one per job type and one per key a worker names
 * (a target storage node, say). An open breaker defers jobs without using
 * their attempts; after `resetTimeoutMs` one probe runs half-open.
 */
import CircuitBreaker from 'opossum';
import type { BreakerOptions } from './worker-options.js';
import type { WorkerMetrics } from './metrics.js';
import { DeferError } from './worker.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerEvent {
  type: string;
  key: string;
  state: BreakerState;
}

type Runner = CircuitBreaker<[() => Promise<unknown>], unknown>;

export class Breakers {
  readonly #map = new Map<string, { breaker: Runner; openedAt: number; lastUsed: number }>();

  constructor(
    private readonly opts: BreakerOptions,
    private readonly metrics: WorkerMetrics,
    private readonly onChange: (e: BreakerEvent) => void,
  ) {}

  private entry(type: string, key: string) {
    const id = `${type}\u0000${key}`;
    let e = this.#map.get(id);
    if (!e) {
      const breaker: Runner = new CircuitBreaker((fn: () => Promise<unknown>) => fn(), {
        timeout: false,
        errorThresholdPercentage: this.opts.errorThresholdPercentage,
        volumeThreshold: this.opts.volumeThreshold,
        resetTimeout: this.opts.resetTimeoutMs,
        rollingCountTimeout: this.opts.rollingCountTimeoutMs,
        allowWarmUp: false,
        // For the type-wide breaker a deferral (the handler's DeferError, or a
        // node's open breaker met inside the handler) is not a failure of the
        // type: counting it let one unavailable storage node stop every job of
        // the type (F9). A key's own breaker counts what passes through it.
        errorFilter:
          key === '*'
            ? (err: unknown) => err instanceof DeferError || isOpenBreakerError(err)
            : undefined,
      });
      const entry = { breaker, openedAt: 0, lastUsed: Date.now() };
      const report = (state: BreakerState): void => {
        if (state === 'open') entry.openedAt = Date.now();
        this.metrics.breakerState.set(
          { type, key },
          state === 'closed' ? 0 : state === 'half-open' ? 1 : 2,
        );
        this.onChange({ type, key, state });
      };
      breaker.on('open', () => report('open'));
      breaker.on('halfOpen', () => report('half-open'));
      breaker.on('close', () => report('closed'));
      this.#map.set(id, entry);
      e = entry;
    }
    e.lastUsed = Date.now();
    return e;
  }

  /** ms until the breaker for `key` lets a job through; 0 when closed or half-open. */
  blockedFor(type: string, key: string): number {
    const e = this.#map.get(`${type}\u0000${key}`);
    if (!e || !e.breaker.opened) return 0;
    return Math.max(50, e.openedAt + this.opts.resetTimeoutMs - Date.now());
  }

  state(type: string, key: string): BreakerState {
    const b = this.#map.get(`${type}\u0000${key}`)?.breaker;
    if (!b) return 'closed';
    return b.opened ? 'open' : b.halfOpen ? 'half-open' : 'closed';
  }

  /** Run `fn` through the breaker of `key`; rejects with opossum's EOPENBREAKER when open. */
  fire<T>(type: string, key: string, fn: () => Promise<T>): Promise<T> {
    return this.entry(type, key).breaker.fire(fn) as Promise<T>;
  }

  /** Forget breakers that are closed and unused for `idleMs`. */
  prune(idleMs: number): void {
    const now = Date.now();
    for (const [id, e] of this.#map) {
      if (!e.breaker.opened && !e.breaker.halfOpen && now - e.lastUsed > idleMs) {
        e.breaker.shutdown();
        this.#map.delete(id);
      }
    }
  }

  shutdown(): void {
    for (const e of this.#map.values()) e.breaker.shutdown();
    this.#map.clear();
  }
}

export function isOpenBreakerError(err: unknown): boolean {
  return (err as { code?: string } | undefined)?.code === 'EOPENBREAKER';
}
