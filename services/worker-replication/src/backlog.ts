/**
 * The replication backlog per target node: a ledger in the control KV bucket
 * (`replication.backlog.<target>.<jobId>`), mirrored in memory by a watch.
 *
 * An entry is written when a resync fans out a job for a target that lacks
 * the object, and when a replication attempt leaves a target behind (node
 * down, failed copy); it is removed when that target is done, or the job
 * dies. Entries whose job has ended otherwise (cancelled, purged) are pruned
 * against the job records. Jobs scheduled by other producers that have not
 * run yet are not in the ledger: they show in `rfw_replication_queue_depth`.
 */
import type { KV } from '@nats-io/kv';
import type { Logger, RecordStore } from '@rfw/core/internal';
import { TERMINAL_STATES } from '@rfw/core';

const PREFIX = 'replication.backlog';

interface Entry {
  target: string;
  jobId: string;
  /** When it was written (ms), or first seen by this instance. */
  at: number;
}

/** Node ids may hold dots, which split KV key tokens; `=` never appears in them. */
const encodeTarget = (t: string): string => t.replaceAll('.', '=');
const decodeTarget = (t: string): string => t.replaceAll('=', '.');

export class BacklogLedger {
  readonly #entries = new Map<string, Entry>();
  /** Where the next prune starts, so every entry gets checked in turn. */
  #pruneFrom = 0;
  #watch?: { stop(): void };
  #closed = false;

  private constructor(
    private readonly kv: KV,
    private readonly log: Logger,
  ) {}

  /** Opens the ledger: starts the watch, then loads the current entries. */
  static async open(kv: KV, log: Logger): Promise<BacklogLedger> {
    const ledger = new BacklogLedger(kv, log);
    await ledger.start();
    return ledger;
  }

  static key(target: string, jobId: string): string {
    return `${PREFIX}.${encodeTarget(target)}.${jobId}`;
  }

  private parse(key: string): Entry | undefined {
    if (!key.startsWith(`${PREFIX}.`)) return undefined;
    const rest = key.slice(PREFIX.length + 1);
    const dot = rest.lastIndexOf('.');
    if (dot <= 0) return undefined;
    return { target: decodeTarget(rest.slice(0, dot)), jobId: rest.slice(dot + 1), at: Date.now() };
  }

  private async start(): Promise<void> {
    const watch = await this.kv.watch({ key: `${PREFIX}.>`, include: 'updates' as never });
    this.#watch = watch;
    void (async () => {
      for await (const e of watch) {
        if (e.operation === 'PUT') {
          const entry = this.parse(e.key);
          if (entry) this.#entries.set(e.key, { ...entry, at: e.created.getTime() });
        } else {
          this.#entries.delete(e.key);
        }
      }
    })().catch((err: unknown) => {
      if (!this.#closed) this.log.warn({ err }, 'backlog ledger watch ended');
    });
    for await (const key of await this.kv.keys(`${PREFIX}.>`)) {
      const entry = this.parse(key);
      if (entry && !this.#entries.has(key)) this.#entries.set(key, entry);
    }
  }

  /** Records that `jobId` still has to reach `target`. */
  async pending(target: string, jobId: string): Promise<void> {
    const key = BacklogLedger.key(target, jobId);
    if (this.#entries.has(key)) return;
    this.#entries.set(key, { target, jobId, at: Date.now() });
    await this.kv.put(key, JSON.stringify({ at: Date.now() }));
  }

  /** Records that `jobId` is done with `target` (copied, skipped, or given up). */
  async done(target: string, jobId: string): Promise<void> {
    const key = BacklogLedger.key(target, jobId);
    if (!this.#entries.has(key)) return;
    this.#entries.delete(key);
    await this.kv.delete(key);
  }

  /** Pending jobs per target. */
  counts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const e of this.#entries.values()) out.set(e.target, (out.get(e.target) ?? 0) + 1);
    return out;
  }

  /**
   * Drops entries older than `graceMs` whose job has ended or has no record,
   * checking at most `max` of them per call (the next call goes on from there).
   * @returns how many were dropped
   */
  async prune(records: RecordStore, graceMs: number, max = 500): Promise<number> {
    const now = Date.now();
    const all = [...this.#entries.values()].filter((e) => now - e.at > graceMs);
    const from = this.#pruneFrom < all.length ? this.#pruneFrom : 0;
    const old = all.slice(from, from + max);
    this.#pruneFrom = from + old.length;
    const verdicts = new Map<string, boolean>();
    let dropped = 0;
    for (const e of old) {
      let ended = verdicts.get(e.jobId);
      if (ended === undefined) {
        const rec = await records.get(e.jobId);
        ended = !rec || TERMINAL_STATES.has(rec.job.state);
        verdicts.set(e.jobId, ended);
      }
      if (ended) {
        await this.done(e.target, e.jobId);
        dropped++;
      }
    }
    return dropped;
  }

  close(): void {
    this.#closed = true;
    this.#watch?.stop();
  }
}
