/**
 * `DelayedReleaser`: the leader's in-memory timer heap over the delayed
 * stream. On election it reads the whole stream with an ordered consumer and
 * keeps following new messages; each message is released when due:
 *
 * 1. shortly before it is due, the job record is checked: a cancelled job, or
 *    one released already (a leader died between release and delete), is
 *    dropped (a cancel after this check is caught by the CAS in step 3, and
 *    workers skip a message whose record is terminal);
 * 2. body and headers are published to `<prefix>.jobs.<type>.<priority>` with
 *    msgID `<id>.release.<delayedSeq>`, so a leader change never doubles it;
 * 3. the record goes `delayed -> pending` with its new location (CAS);
 * 4. a `pending` event is published and the delayed message deleted.
 *
 * Leadership is checked before each publish; `stop()` ends all of it at once.
 */
import { JetStreamApiError, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders, type MsgHdrs, type Subscription } from '@nats-io/nats-core';
import {
  Hdr,
  LIMITS,
  PRIORITIES,
  TERMINAL_STATES,
  addTransition,
  decodeJobMessage,
  decodeJson,
  jobIdOf,
  newRecord,
  publishEvent,
  type CoreContext,
  type Job,
  type Logger,
  type Priority,
} from '@rfw/core/internal';
import type { SchedulerMetrics } from './metrics.js';
import { TimerHeap, type HeapEntry } from './timer-heap.js';

interface DelayedEntry extends HeapEntry {
  id: string;
  subject: string;
  type: string;
  priority: string;
  createdAt?: number;
  headers?: MsgHdrs;
  /** The body, unless the memory budget was spent: then it is re-read at release. */
  data?: Uint8Array;
  failures: number;
}

export interface ReleaserOptions {
  ctx: CoreContext;
  /** Checked before every publish: the election's `isLeader`. */
  isLeader: () => boolean;
  metrics: SchedulerMetrics;
  log: Logger;
  /** Releases in flight at once. @default 64 */
  concurrency?: number;
  /** Bytes of delayed bodies kept in memory. @default 64 MiB */
  memoryBudgetBytes?: number;
}

/**
 * A due entry's record is read this long before it is due, so that only the
 * publish itself stands between the due time and the release, ms.
 */
const PREPARE_MS = 100;
/** JetStream API error code for deleting a message that is not there. */
const NO_MESSAGE_FOUND = 10037;
/** Longest single timer, ms (Node's limit is about 24.8 days). */
const MAX_TIMER_MS = 3600_000;

export class DelayedReleaser {
  readonly #heap = new TimerHeap<DelayedEntry>();
  readonly #byId = new Map<string, number>();
  readonly #concurrency: number;
  readonly #budget: number;
  #generation = 0;
  #active = false;
  #timer?: NodeJS.Timeout;
  #timerAt = Infinity;
  #inFlight = 0;
  #memory = 0;
  #loaded = false;
  #messages?: ConsumerMessages;
  #cancelSub?: Subscription;

  constructor(private readonly o: ReleaserOptions) {
    this.#concurrency = o.concurrency ?? 64;
    this.#budget = o.memoryBudgetBytes ?? 64 * 1024 * 1024;
  }

  /** Delayed jobs held now. */
  get pending(): number {
    return this.#heap.size;
  }
  /** Whether the initial read of the stream is complete. */
  get loaded(): boolean {
    return this.#loaded;
  }
  get active(): boolean {
    return this.#active;
  }

  /** Load the delayed stream and follow it. Call on becoming leader. */
  async start(): Promise<void> {
    if (this.#active) return;
    const { ctx } = this.o;
    this.#active = true;
    this.#loaded = false;
    const gen = ++this.#generation;
    this.#cancelSub = ctx.nc.subscribe(ctx.names.eventSubject('*', '*', 'cancelled'), {
      callback: (_err, msg) => {
        try {
          this.#forget(decodeJson<{ id: string }>(msg.data).id);
        } catch {
          // not an event
        }
      },
    });
    const info = await ctx.jsm.streams.info(ctx.names.delayedStream);
    if (gen !== this.#generation) return;
    const lastSeq = info.state.last_seq;
    if (info.state.messages === 0) this.#markLoaded();
    const consumer = await ctx.js.consumers.get(ctx.names.delayedStream);
    const messages = await consumer.consume({ max_messages: 1000 });
    if (gen !== this.#generation) {
      await messages.close();
      return;
    }
    this.#messages = messages;
    void (async () => {
      try {
        for await (const m of messages) {
          if (gen !== this.#generation) break;
          this.#add(m);
          if (!this.#loaded && (m.seq >= lastSeq || m.info.pending === 0)) this.#markLoaded();
        }
      } catch (err) {
        this.o.log.warn({ err: (err as Error).message }, 'delayed stream reader ended');
      }
    })();
  }

  #markLoaded(): void {
    this.#loaded = true;
    this.o.log.info({ pending: this.#heap.size }, 'delayed jobs loaded');
  }

  /** Stop at once: no publish starts after this returns. Safe to call when stopped. */
  stop(): void {
    if (!this.#active) return;
    this.#active = false;
    this.#generation++;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#heap.clear();
    this.#byId.clear();
    this.#memory = 0;
    this.#loaded = false;
    void this.#messages?.close().catch(() => undefined);
    this.#messages = undefined;
    this.#cancelSub?.unsubscribe();
    this.#cancelSub = undefined;
    this.o.metrics.delayedPending.set(0);
  }

  #add(m: JsMsg): void {
    const { names } = this.o.ctx;
    const parsed = names.parseJobSubject(m.subject);
    const rawRunAt = m.headers?.get(Hdr.RunAt) ?? '';
    const runAt = /^\d{1,16}$/.test(rawRunAt) ? Number(rawRunAt) : 0;
    if (runAt === 0)
      this.o.log.warn(
        { seq: m.seq, runAt: rawRunAt },
        `delayed message without a valid ${Hdr.RunAt}: due now`,
      );
    const rawCreated = m.headers?.get(Hdr.CreatedAt) ?? '';
    const keep = this.#memory + m.data.length <= this.#budget;
    if (keep) this.#memory += m.data.length;
    const e: DelayedEntry = {
      seq: m.seq,
      runAt,
      id: jobIdOf(m.headers, m.seq),
      subject: m.subject,
      type: parsed?.type ?? '',
      priority: parsed?.priority ?? '',
      createdAt: /^\d{1,16}$/.test(rawCreated) ? Number(rawCreated) : undefined,
      headers: m.headers,
      data: keep ? m.data.slice() : undefined,
      failures: 0,
    };
    if (!this.#heap.push(e)) return;
    this.#byId.set(e.id, e.seq);
    this.o.metrics.delayedPending.set(this.#heap.size);
    this.#pump();
  }

  #forget(id: string): void {
    const seq = this.#byId.get(id);
    if (seq === undefined) return;
    this.#byId.delete(id);
    const e = this.#heap.remove(seq);
    if (e?.data) this.#memory -= e.data.length;
    this.o.metrics.delayedPending.set(this.#heap.size);
  }

  #pump(): void {
    if (!this.#active) return;
    const now = Date.now();
    while (this.#inFlight < this.#concurrency) {
      const top = this.#heap.peek();
      if (!top) break;
      if (top.runAt > now + PREPARE_MS) {
        this.#arm(top.runAt - PREPARE_MS);
        break;
      }
      this.#heap.pop();
      if (this.#byId.get(top.id) === top.seq) this.#byId.delete(top.id);
      if (top.data) this.#memory -= top.data.length;
      this.#inFlight++;
      const gen = this.#generation;
      let freed = false;
      // The slot bounds the broker requests in flight, not the wait for the due time.
      const free = (): void => {
        if (freed) return;
        freed = true;
        this.#inFlight--;
        this.#pump();
      };
      void this.#release(top, gen, free).finally(free);
    }
    this.o.metrics.delayedPending.set(this.#heap.size);
  }

  #arm(at: number): void {
    if (this.#timer && this.#timerAt <= at) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAt = Infinity;
        this.#pump();
      },
      Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now())),
    );
  }

  #current(gen: number): boolean {
    return this.#active && gen === this.#generation && this.o.isLeader();
  }

  async #release(e: DelayedEntry, gen: number, free: () => void): Promise<void> {
    const { ctx, metrics } = this.o;
    const { names } = ctx;
    const stream = names.delayedStream;
    const drop = async (reason: string): Promise<void> => {
      await this.#delete(e.seq);
      metrics.skipped.inc({ reason });
    };
    try {
      if (!this.#current(gen)) return;
      let { data, headers } = e;
      if (!data) {
        const stored = await ctx.jsm.streams.getMessage(stream, { seq: e.seq });
        if (!stored) {
          metrics.skipped.inc({ reason: 'gone' });
          return;
        }
        data = stored.data;
        headers = stored.header;
      }
      const valid =
        LIMITS.typePattern.test(e.type) &&
        (PRIORITIES as readonly string[]).includes(e.priority) &&
        LIMITS.idPattern.test(e.id);
      if (!valid) {
        await this.#deadLetter(e, data, headers, gen);
        return;
      }
      const rec = await ctx.records.get(e.id);
      const same = rec && (e.createdAt === undefined || rec.job.createdAt === e.createdAt);
      if (rec && same && rec.job.state !== 'delayed') {
        await drop(rec.job.state === 'cancelled' ? 'cancelled' : 'already-released');
        return;
      }
      // Prepared ahead of time: publish exactly when due.
      // (A timer may fire a millisecond early: never publish before the due time.)
      for (let wait = e.runAt - Date.now(); wait > 0; wait = e.runAt - Date.now()) {
        free();
        await new Promise((r) => setTimeout(r, wait));
      }
      if (!this.#current(gen)) return;
      const h = natsHeaders();
      for (const [k, values] of headers ?? []) {
        if (k === Hdr.MsgId) continue;
        for (const v of values) h.append(k, v);
      }
      h.set(Hdr.JobId, e.id);
      const ack = await ctx.js.publish(names.jobSubject(e.type, e.priority as Priority), data, {
        msgID: `${e.id}.release.${e.seq}`,
        headers: h,
      });
      const at = Date.now();
      const location = { stream: ack.stream, seq: ack.seq };
      if (rec && same) {
        const toPending = (cur: Job | undefined): Job | undefined =>
          cur?.state === 'delayed'
            ? addTransition({ ...cur, location }, { state: 'pending', at })
            : undefined;
        // Usually nobody touched the record since we read it: one CAS write.
        const direct = toPending(rec.job) as Job;
        if ((await ctx.records.update(direct, rec.revision)) === undefined)
          await ctx.records.mutate(e.id, toPending);
      } else if (rec) {
        // The id of a finished job was scheduled again: this message is a new
        // incarnation, and its record must say so or workers would skip it.
        const d = decodeJobMessage(names, e.subject, headers, data, e.seq);
        if (d.ok) {
          const j = d.job;
          await ctx.records.mutate(e.id, (cur) =>
            !cur || TERMINAL_STATES.has(cur.state)
              ? newRecord(
                  {
                    id: j.id,
                    type: j.type,
                    priority: j.priority,
                    payload: j.payload,
                    maxRetries: j.maxRetries ?? rec.job.maxRetries,
                    timeoutMs: j.timeoutMs ?? rec.job.timeoutMs,
                    createdAt: j.createdAt ?? at,
                    runAt: e.runAt,
                    location,
                  },
                  'pending',
                  at,
                )
              : undefined,
          );
        }
      }
      publishEvent(ctx, { id: e.id, type: e.type, priority: e.priority, state: 'pending', at });
      metrics.released.inc({ type: e.type });
      metrics.lateness.observe(Math.max(0, at - e.runAt) / 1000);
      // The job is out: the delete need not hold up the next release. Should it
      // fail, the retry finds the record pending and deletes then.
      this.#delete(e.seq).catch((err: unknown) => this.#retry(e, gen, err));
    } catch (err) {
      this.#retry(e, gen, err);
    }
  }

  #retry(e: DelayedEntry, gen: number, err: unknown): void {
    const { metrics, log } = this.o;
    metrics.releaseFailures.inc();
    e.failures++;
    const retryInMs = Math.min(30_000, 250 * 2 ** Math.min(e.failures, 7));
    log.warn(
      { err: (err as Error).message, jobId: e.id, seq: e.seq, retryInMs },
      'delayed release failed; will retry',
    );
    if (this.#current(gen)) {
      e.runAt = Date.now() + retryInMs;
      if (e.data && this.#memory + e.data.length <= this.#budget) this.#memory += e.data.length;
      else e.data = undefined;
      if (this.#heap.push(e)) this.#byId.set(e.id, e.seq);
      this.#pump();
    }
  }

  /** Delete a delayed message; one that is gone already (cancelled) is fine, any other failure throws. */
  async #delete(seq: number): Promise<void> {
    try {
      await this.o.ctx.jsm.streams.deleteMessage(this.o.ctx.names.delayedStream, seq, false);
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === NO_MESSAGE_FOUND) return;
      throw err;
    }
  }

  /** A delayed message no worker could ever take (bad subject or id): to the DLQ with the reason. */
  async #deadLetter(
    e: DelayedEntry,
    data: Uint8Array,
    headers: MsgHdrs | undefined,
    gen: number,
  ): Promise<void> {
    const { ctx, metrics, log } = this.o;
    if (!this.#current(gen)) return;
    const reason = `invalid delayed message: subject ${e.subject} or job id ${JSON.stringify(e.id.slice(0, 80))} cannot be released`;
    const h = natsHeaders();
    for (const [k, values] of headers ?? []) {
      if (k === Hdr.MsgId || k === Hdr.JobId) continue;
      for (const v of values) h.append(k, v);
    }
    const id = LIMITS.idPattern.test(e.id) ? e.id : `s${e.seq}`;
    h.set(Hdr.JobId, id);
    h.set(Hdr.DeadReason, reason.slice(0, 1000));
    h.set(Hdr.OriginalSubject, e.subject);
    h.set(Hdr.Attempts, '0');
    const type = LIMITS.typePattern.test(e.type) ? e.type : 'invalid';
    await ctx.js.publish(ctx.names.dlqSubject(type), data, {
      msgID: `dlq.${id}.${e.seq}.0`,
      headers: h,
    });
    await this.#delete(e.seq);
    metrics.skipped.inc({ reason: 'invalid' });
    log.warn({ seq: e.seq, subject: e.subject }, reason);
  }
}
