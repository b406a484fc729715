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
  role: string;
  /** The new holder, or `undefined` while the role has no live leader. */
  leader: string | undefined;
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
  connection: NatsConnection;
  /** @default 'rfw' */
  prefix?: string;
  /** Period of the expiry check, ms. @default 250 */
  checkIntervalMs?: number;
  replicas?: number;
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

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
