/**
 * `LeaderWatch`: who leads each role, for nodes that only observe (and for
 * `WorkerCluster.leaders()`). It follows the leader bucket and, like a
 * candidate, judges a lease expired when its revision has not moved for the
 * lease length on this node's own clock.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import type { KV, KvEntry } from '@nats-io/kv';
import { Names, createLogger, type Logger } from '@rfw/core/internal';
import { monotonicNow as now, openCoordinationBucket, parseLease, validateMs } from './lease.js';

/** A change of the holder of a role's lease, as seen by a `LeaderWatch`. */
export interface LeadershipChange {
  /** The role whose holder changed. */
  role: string;
  /** The new holder, or `undefined` while the role has no live leader. */
  leader: string | undefined;
  /** The holder before the change, or `undefined` when the role had no live leader. */
  previous: string | undefined;
}

interface Seen {
  holder?: string;
  revision: number;
  since: number;
  leaseMs: number;
  expired: boolean;
}

/** Options of a `LeaderWatch`. */
export interface LeaderWatchOptions {
  /** The NATS connection to use; `stop()` leaves it open. */
  connection: NatsConnection;
  /** @default 'rfw' */
  prefix?: string;
  /** Period of the expiry check, ms. @default 250 */
  checkIntervalMs?: number;
  /** Replicas of the leader bucket (3 in a NATS cluster). @default 1 */
  replicas?: number;
  /** Logger for the watch's own messages. @default a new `leader-watch` logger */
  logger?: Logger;
}

/**
 * Follows who leads each role without competing for it (for dashboards and
 * routing).
 */
export class LeaderWatch implements AsyncDisposable {
  readonly #roles = new Map<string, Seen>();
  readonly #log: Logger;
  #timer?: NodeJS.Timeout;
  #watch?: { stop(): void };
  #stopping?: Promise<void>;

  private constructor(
    private readonly kv: KV,
    private readonly onChange: (e: LeadershipChange) => void,
    logger: Logger,
  ) {
    this.#log = logger;
  }

  /**
   * Open (creating if needed) the leader bucket and follow it; `onChange` is
   * called on each change of a role's live holder. Throws `ConfigError` when
   * `checkIntervalMs` is not an integer of at least 10.
   */
  static async start(
    opts: LeaderWatchOptions,
    onChange: (e: LeadershipChange) => void,
  ): Promise<LeaderWatch> {
    const checkMs = validateMs('checkIntervalMs', opts.checkIntervalMs, 250, 10);
    const kv = await openCoordinationBucket(
      opts.connection,
      new Names(opts.prefix ?? 'rfw').leaderBucket,
      { history: 1, replicas: opts.replicas ?? 1, timeoutMs: 5000 },
    );
    const w = new LeaderWatch(kv, onChange, opts.logger ?? createLogger('leader-watch'));
    const watch = await kv.watch();
    w.#watch = watch;
    void (async () => {
      try {
        for await (const e of watch) w.#apply(e);
      } catch (err) {
        w.#log.debug({ err }, 'leader watch ended');
      }
    })();
    w.#timer = setInterval(() => w.#checkExpiry(), checkMs);
    return w;
  }

  /** role -> current leader's nodeId (roles with no live leader are left out). */
  leaders(): Record<string, string> {
    this.#checkExpiry();
    const out: Record<string, string> = {};
    for (const [role, s] of this.#roles) if (s.holder && !s.expired) out[role] = s.holder;
    return out;
  }

  #current(s: Seen | undefined): string | undefined {
    return s && !s.expired ? s.holder : undefined;
  }

  #apply(e: KvEntry): void {
    if (this.#stopping) return;
    const prev = this.#roles.get(e.key);
    if (prev && e.revision <= prev.revision) return;
    const before = this.#current(prev);
    if (e.operation !== 'PUT') {
      this.#roles.set(e.key, { revision: e.revision, since: now(), leaseMs: 0, expired: true });
    } else {
      const lease = parseLease(e.value);
      this.#roles.set(e.key, {
        holder: lease?.holder,
        revision: e.revision,
        since: now(),
        leaseMs: lease?.leaseMs ?? 10_000,
        expired: false,
      });
    }
    const after = this.#current(this.#roles.get(e.key));
    if (after !== before) this.onChange({ role: e.key, leader: after, previous: before });
  }

  #checkExpiry(): void {
    const t = now();
    for (const [role, s] of this.#roles) {
      if (!s.expired && t - s.since > s.leaseMs) {
        s.expired = true;
        if (s.holder) this.onChange({ role, leader: undefined, previous: s.holder });
      }
    }
  }

  /** Stop following the bucket and checking for expired leases. Safe twice. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      clearInterval(this.#timer);
      try {
        this.#watch?.stop();
      } catch {
        // already stopped
      }
    })();
    return this.#stopping;
  }

  /** Same as `stop()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
