/**
 * `LeaderElection`: one leader per role, by a lease in the `<prefix>_leader`
 * KV bucket.
 *
 * - Acquire: `create` the role's key when it is absent (or deleted by a
 *   resigning leader); take over an existing lease by compare-and-set on its
 *   revision once this node has seen that revision unchanged for the lease
 *   length on its own monotonic clock.
 * - Renew: compare-and-set on the revision every quarter lease. The revision
 *   at which the lease was acquired is the fencing token: it only grows, so a
 *   newer leader always holds a larger token.
 * - Step down at once: a holder considers itself leader only until
 *   `lastRenewSent + lease - safety`, which is before any candidate can take
 *   over (`lastRenewWritten + lease` at the earliest). A failed renewal, a
 *   compare-and-set conflict, another holder seen in a watch event, or the
 *   local deadline passing (also after a SIGSTOP) drop leadership immediately.
 * - Resign: `stop()` deletes the key (only if it is still ours), so a
 *   candidate takes over within a poll rather than a lease.
 */
import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/nats-core';
import type { KV, KvEntry } from '@nats-io/kv';
import { Names, createLogger, encodeJson, isCasConflict, type Logger } from '@rfw/core/internal';
import { IllegalStateError } from '@rfw/core';
import {
  monotonicNow as now,
  openCoordinationBucket,
  parseLease,
  validateMs,
  validateNodeId,
  validateRole,
  type LeaseRecord,
} from './lease.js';

/** A change of the known leader, or of this node's leadership. */
export interface LeaderChange {
  /** The role, e.g. `scheduler`. */
  role: string;
  /** The holder's nodeId, when known. */
  leader?: string;
  /** Whether this node leads the role now. */
  isLeader: boolean;
  /** The fencing token, while this node leads. */
  token?: number;
}

/** Options of `LeaderElection.create()`. */
export interface LeaderElectionOptions {
  /** The NATS connection to use; `stop()` leaves it open. */
  connection: NatsConnection;
  /** Names prefix of the installation. @default 'rfw' */
  prefix?: string;
  /** The role led, e.g. `scheduler`, `monitor`: the key in the leader bucket. */
  role: string;
  /** This node's id (letters, digits, `-`, `_`). */
  nodeId: string;
  /**
   * Lease length = leaderElectionTimeout, ms: a new leader is elected within
   * about this long after the old one dies. @default 10000
   */
  leaseMs?: number;
  /** Replicas of the leader bucket (3 in a NATS cluster). @default 1 */
  replicas?: number;
  /** Logger the election's log is a child of. @default a new `leader-election` logger */
  logger?: Logger;
}

/**
 * States of a `LeaderElection`: `start()` moves created -> running, `stop()`
 * running -> stopping -> stopped.
 */
export type ElectionState = 'created' | 'running' | 'stopping' | 'stopped';

/**
 * One leader per role across the cluster, on a NATS KV lease renewed by
 * compare-and-set on its revision; the revision is the fencing token. Create
 * with `LeaderElection.create()`, then `start()`; `stop()` resigns.
 */
export class LeaderElection implements AsyncDisposable {
  /** The role competed for: the key in the leader bucket. */
  readonly role: string;
  /** This node's id, written as the lease's holder. */
  readonly nodeId: string;
  /** Lease length, ms (`options.leaseMs`, default 10000). */
  readonly leaseMs: number;
  /** Period of renewals while leader, ms. */
  readonly renewEveryMs: number;
  /** How much earlier than a candidate could take over a holder steps down, ms. */
  readonly safetyMs: number;
  /** Period of candidates' polls, ms (watch events wake them sooner). */
  readonly pollMs: number;
  readonly #log: Logger;
  readonly #leaseId = randomUUID().replaceAll('-', '');
  readonly #listeners = new Set<(e: LeaderChange) => void>();
  #state: ElectionState = 'created';
  #isLeader = false;
  #deadline = 0;
  #deadlineTimer?: NodeJS.Timeout;
  #token?: number;
  #revision?: number;
  #acquiredAt = 0;
  #leader?: string;
  #observed?: { revision: number; since: number; holder?: string };
  #last: { leader?: string; isLeader: boolean } = { isLeader: false };
  #wake?: () => void;
  #loop?: Promise<void>;
  #watch?: { stop(): void };
  #stopping?: Promise<void>;

  private constructor(
    private readonly kv: KV,
    opts: LeaderElectionOptions,
    leaseMs: number,
  ) {
    this.role = opts.role;
    this.nodeId = opts.nodeId;
    this.leaseMs = leaseMs;
    this.renewEveryMs = Math.max(25, Math.floor(leaseMs / 4));
    this.safetyMs = Math.max(50, Math.floor(leaseMs / 5));
    this.pollMs = Math.min(1000, Math.max(25, Math.floor(leaseMs / 4)));
    this.#log = (opts.logger ?? createLogger('leader-election')).child({
      role: opts.role,
      nodeId: opts.nodeId,
    });
  }

  /**
   * Validate the options and open (creating if needed) the leader bucket.
   * Throws `ConfigError` naming a bad field.
   */
  static async create(opts: LeaderElectionOptions): Promise<LeaderElection> {
    validateRole(opts.role);
    validateNodeId(opts.nodeId);
    const leaseMs = validateMs('leaseMs', opts.leaseMs, 10_000, 200);
    const names = new Names(opts.prefix ?? 'rfw');
    const kv = await openCoordinationBucket(opts.connection, names.leaderBucket, {
      history: 1,
      replicas: opts.replicas ?? 1,
      timeoutMs: Math.min(5000, Math.max(500, Math.floor(leaseMs / 2))),
    });
    return new LeaderElection(kv, opts, leaseMs);
  }

  /** The lifecycle state: created, running, stopping or stopped. */
  get state(): ElectionState {
    return this.#state;
  }

  /** True only while this node holds an unexpired lease (checked against the clock on every read). */
  get isLeader(): boolean {
    return this.#isLeader && now() < this.#deadline;
  }

  /** The current holder's nodeId, if known. */
  get leader(): string | undefined {
    return this.isLeader ? this.nodeId : this.#leader;
  }

  /** KV revision at which this node acquired its lease (grows with every new term); set only while leader. */
  get fencingToken(): number | undefined {
    return this.isLeader ? this.#token : undefined;
  }

  /** The lease's current KV revision while leader (changes with every renewal). */
  get leaseRevision(): number | undefined {
    return this.isLeader ? this.#revision : undefined;
  }

  /** Milliseconds of leadership left before this node steps down unless a renewal succeeds. */
  get remainingMs(): number {
    return this.isLeader ? Math.max(0, this.#deadline - now()) : 0;
  }

  /** Call `cb` on each change of leader or of this node's leadership; returns the unsubscribe function. */
  onChange(cb: (e: LeaderChange) => void): () => void {
    this.#listeners.add(cb);
    return () => this.#listeners.delete(cb);
  }

  /** Resolves when this node is leader (or rejects after `timeoutMs`). */
  waitForLeadership(timeoutMs = 60_000): Promise<number> {
    if (this.isLeader) return Promise.resolve(this.#token as number);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`${this.nodeId} not leader of ${this.role} within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.onChange((e) => {
        if (e.isLeader) {
          clearTimeout(timer);
          off();
          resolve(e.token as number);
        }
      });
    });
  }

  /** Start competing. Resolves after the first attempt, so `isLeader` is meaningful at once. */
  async start(): Promise<void> {
    if (this.#state !== 'created')
      throw new IllegalStateError('LeaderElection', 'start()', this.#state);
    this.#state = 'running';
    const watch = await this.kv.watch({ key: this.role, include: 'updates' as never });
    this.#watch = watch;
    void (async () => {
      try {
        for await (const e of watch) this.#onWatch(e);
      } catch (err) {
        this.#log.debug({ err }, 'lease watch ended');
      }
    })();
    let first: () => void = () => undefined;
    const firstDone = new Promise<void>((r) => (first = r));
    this.#loop = this.#run(first);
    await firstDone;
  }

  async #run(firstDone: () => void): Promise<void> {
    while (this.#state === 'running') {
      let waitMs: number;
      try {
        waitMs = this.#isLeader ? await this.#renew() : await this.#contend();
      } catch (err) {
        this.#log.warn({ err: (err as Error).message }, 'leader election step failed');
        waitMs = this.pollMs;
      }
      firstDone();
      if (this.#state !== 'running') break;
      await this.#sleep(waitMs);
    }
    firstDone();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  #onWatch(e: KvEntry): void {
    if (this.#state !== 'running') return;
    if (e.operation !== 'PUT') {
      if (!this.#isLeader) this.#wake?.();
      return;
    }
    const lease = parseLease(e.value);
    if (lease?.leaseId === this.#leaseId) return;
    if (this.#isLeader) this.#demote(`lease taken by ${lease?.holder ?? 'an unknown writer'}`);
    this.#observe(e.revision, lease);
  }

  #encode(renewedAt = Date.now()): Uint8Array {
    const rec: LeaseRecord = {
      v: 1,
      role: this.role,
      holder: this.nodeId,
      leaseId: this.#leaseId,
      leaseMs: this.leaseMs,
      acquiredAt: this.#acquiredAt,
      renewedAt,
      expiresAt: renewedAt + this.leaseMs,
    };
    return encodeJson(rec);
  }

  async #renew(): Promise<number> {
    const sentAt = now();
    const remaining = this.#deadline - sentAt;
    if (remaining <= 0) {
      this.#demote('lease deadline passed before a renewal');
      return 0;
    }
    try {
      const rev = await this.kv.update(
        this.role,
        this.#encode(),
        this.#revision as number,
        Math.max(100, Math.floor(remaining)),
      );
      this.#revision = rev;
      if (!this.#isLeader || this.#state !== 'running') return 0;
      this.#extend(sentAt + this.leaseMs - this.safetyMs);
      return this.renewEveryMs;
    } catch (err) {
      if (!isCasConflict(err)) {
        this.#demote(`lease renewal failed: ${(err as Error).message}`);
        return Math.min(this.pollMs, 100);
      }
      // A renewal whose reply was lost may have landed: then the lease is still ours.
      const e = await this.kv.get(this.role);
      const lease = e?.operation === 'PUT' ? parseLease(e.value) : undefined;
      if (e && lease?.leaseId === this.#leaseId) {
        this.#revision = e.revision;
        return 0;
      }
      this.#demote(`lease lost to ${lease?.holder ?? 'nobody'} (revision moved on)`);
      if (e && lease) this.#observe(e.revision, lease);
      return 0;
    }
  }

  async #contend(): Promise<number> {
    const e = await this.kv.get(this.role);
    if (!e || e.operation !== 'PUT') {
      this.#observed = undefined;
      this.#setLeader(undefined);
      return this.#acquire(() => this.kv.create(this.role, this.#encode()), 'lease was free');
    }
    const lease = parseLease(e.value);
    if (lease?.leaseId === this.#leaseId) {
      // Written by this very process (a renewal whose outcome we missed): nobody else holds it.
      return this.#acquire(
        () => this.kv.update(this.role, this.#encode(), e.revision),
        'own lease still in place',
      );
    }
    this.#observe(e.revision, lease);
    const observed = this.#observed as { since: number };
    const waitMs = Math.max(this.leaseMs, lease?.leaseMs ?? 0);
    const age = now() - observed.since;
    if (age < waitMs) return Math.min(this.pollMs, waitMs - age + 1);
    this.#setLeader(undefined);
    return this.#acquire(
      () => this.kv.update(this.role, this.#encode(), e.revision),
      `lease of ${lease?.holder ?? 'unknown'} expired`,
    );
  }

  async #acquire(write: () => Promise<number>, how: string): Promise<number> {
    const sentAt = now();
    this.#acquiredAt = Date.now();
    let rev: number;
    try {
      rev = await write();
    } catch (err) {
      if (isCasConflict(err)) return 0;
      throw err;
    }
    if (this.#state !== 'running') {
      await this.kv.delete(this.role, { previousSeq: rev }).catch(() => undefined);
      return 0;
    }
    this.#revision = rev;
    this.#token = rev;
    this.#observed = undefined;
    this.#isLeader = true;
    this.#extend(sentAt + this.leaseMs - this.safetyMs);
    this.#leader = this.nodeId;
    this.#log.info({ token: rev, how }, 'became leader');
    this.#emit();
    return this.renewEveryMs;
  }

  #observe(revision: number, lease: LeaseRecord | undefined): void {
    if (this.#observed && revision <= this.#observed.revision) return;
    this.#observed = { revision, since: now(), holder: lease?.holder };
    this.#setLeader(lease?.holder);
  }

  #setLeader(leader: string | undefined): void {
    this.#leader = leader;
    this.#emit();
  }

  #extend(deadline: number): void {
    this.#deadline = deadline;
    clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = setTimeout(
      () => this.#demote('lease deadline passed without a successful renewal'),
      Math.max(0, deadline - now()),
    );
  }

  #demote(reason: string, level: 'warn' | 'info' = 'warn'): void {
    clearTimeout(this.#deadlineTimer);
    if (!this.#isLeader) return;
    this.#isLeader = false;
    this.#deadline = 0;
    const token = this.#token;
    this.#token = undefined;
    if (this.#leader === this.nodeId) this.#leader = undefined;
    this.#log[level]({ token, reason }, 'leadership lost');
    this.#emit();
    this.#wake?.();
  }

  #emit(): void {
    const cur = { leader: this.leader, isLeader: this.isLeader };
    if (cur.leader === this.#last.leader && cur.isLeader === this.#last.isLeader) return;
    this.#last = cur;
    const e: LeaderChange = {
      role: this.role,
      leader: cur.leader,
      isLeader: cur.isLeader,
      token: this.fencingToken,
    };
    for (const cb of this.#listeners) {
      try {
        cb(e);
      } catch (err) {
        this.#log.warn({ err }, 'leadership listener threw');
      }
    }
  }

  /** Resign (delete our lease if we hold it) and stop. Safe twice. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      if (this.#state === 'created') {
        this.#state = 'stopped';
        return;
      }
      this.#state = 'stopping';
      this.#demote('resigning', 'info');
      this.#wake?.();
      try {
        await this.#loop;
      } catch {
        // the loop never throws; be safe
      }
      try {
        this.#watch?.stop();
      } catch {
        // already stopped
      }
      try {
        const e = await this.kv.get(this.role);
        if (e?.operation === 'PUT' && parseLease(e.value)?.leaseId === this.#leaseId) {
          await this.kv.delete(this.role, { previousSeq: e.revision });
          this.#log.info('lease released');
        }
      } catch (err) {
        this.#log.warn({ err: (err as Error).message }, 'could not release the lease');
      }
      this.#state = 'stopped';
      this.#leader = undefined;
      this.#listeners.clear();
    })();
    return this.#stopping;
  }

  /** Same as `stop()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
