/**
 * `DelayedReleaser`: the leader's in-memory timer heap over the delayed
 * stream. On election it reads the whole stream with an ordered consumer and
 * keeps following new messages. A job is held with its message while the
 * memory budget lasts; beyond it only its due time and sequence are kept (a
 * `DueHeap`), and the message is read back when due. Each is released when due:
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
import type { MsgHdrs, Subscription } from '@nats-io/nats-core';
import {
  Hdr,
  LIMITS,
  PRIORITIES,
  TERMINAL_STATES,
  addTransition,
  copyHeaders,
  decodeJobMessage,
  decodeJson,
  jobIdOf,
  newRecord,
  publishEvent,
  SpanKind,
  TraceAttr,
  contextFromHeaders,
  failSpan,
  injectSpan,
  startSpan,
  type CoreContext,
  type Job,
  type Logger,
  type Priority,
} from '@rfw/core/internal';
import type { SchedulerMetrics } from './metrics.js';
import { DueHeap } from './due-heap.js';
import { TimerHeap, type HeapEntry } from './timer-heap.js';

/** A delayed job known by its place in the stream only: read back when due. */
interface WaitingEntry extends HeapEntry {
  /** Release attempts that failed so far. */
  failures: number;
}

/** A delayed job held in memory with its message, ready to publish when due. */
interface DelayedEntry extends WaitingEntry {
  id: string;
  subject: string;
  type: string;
  priority: string;
  createdAt?: number;
  headers?: MsgHdrs;
  data: Uint8Array;
}

export interface ReleaserOptions {
  ctx: CoreContext;
  /** Checked before every publish: the election's `isLeader`. */
  isLeader: () => boolean;
  metrics: SchedulerMetrics;
  log: Logger;
  /** Releases in flight at once. @default 64 */
  concurrency?: number;
  /**
   * Bytes of delayed messages held in memory, bodies plus `HELD_ENTRY_BYTES`
   * each; beyond it a job costs 16 bytes and its message is read back when
   * due. @default 16 MiB
   */
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
/**
 * What a job held in memory costs beyond its body, bytes: its entry, decoded
 * headers, strings and map slots (measured: about 1.1 KB of heap each).
 */
export const HELD_ENTRY_BYTES = 1024;

const heldBytes = (e: DelayedEntry): number => e.data.length + HELD_ENTRY_BYTES;

export class DelayedReleaser {
  /** Jobs held with their message (cancellable by id at once). */
  readonly #heap = new TimerHeap<DelayedEntry>();
  readonly #byId = new Map<string, number>();
  /** Jobs beyond the memory budget: due time and sequence only. */
  readonly #waiting = new DueHeap();
  /** Failed release attempts of jobs in `#waiting`, by sequence. */
  readonly #waitingFailures = new Map<number, number>();
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
    this.#budget = o.memoryBudgetBytes ?? 16 * 1024 * 1024;
  }

  /** Delayed jobs known now (held in memory or waiting to be read back). */
  get pending(): number {
    return this.#heap.size + this.#waiting.size;
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
    this.o.log.info(
      { pending: this.pending, readBackWhenDue: this.#waiting.size },
      'delayed jobs loaded',
    );
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
    this.#waiting.clear();
    this.#waitingFailures.clear();
    this.#memory = 0;
    this.#loaded = false;
    void this.#messages?.close().catch(() => undefined);
    this.#messages = undefined;
    this.#cancelSub?.unsubscribe();
    this.#cancelSub = undefined;
    this.o.metrics.delayedPending.set(0);
  }

  #add(m: JsMsg): void {
    const runAt = this.#runAtOf(m.headers, m.seq);
    const cost = m.data.length + HELD_ENTRY_BYTES;
    if (this.#memory + cost > this.#budget) {
      this.#waiting.push(runAt, m.seq);
    } else {
      const e = this.#describe(m.seq, runAt, m.subject, m.headers, m.data.slice());
      if (!this.#heap.push(e)) return;
      this.#memory += cost;
      this.#byId.set(e.id, e.seq);
    }
    this.o.metrics.delayedPending.set(this.pending);
    this.#pump();
  }

  #runAtOf(headers: MsgHdrs | undefined, seq: number): number {
    const raw = headers?.get(Hdr.RunAt) ?? '';
    if (/^\d{1,16}$/.test(raw)) return Number(raw);
    this.o.log.warn({ seq, runAt: raw }, `delayed message without a valid ${Hdr.RunAt}: due now`);
    return 0;
  }

  /** A delayed message as the entry its release works from. */
  #describe(
    seq: number,
    runAt: number,
    subject: string,
    headers: MsgHdrs | undefined,
    data: Uint8Array,
    failures = 0,
  ): DelayedEntry {
    const parsed = this.o.ctx.names.parseJobSubject(subject);
    const rawCreated = headers?.get(Hdr.CreatedAt) ?? '';
    return {
      seq,
      runAt,
      id: jobIdOf(headers, seq),
      subject,
      type: parsed?.type ?? '',
      priority: parsed?.priority ?? '',
      createdAt: /^\d{1,16}$/.test(rawCreated) ? Number(rawCreated) : undefined,
      headers,
      data,
      failures,
    };
  }

  /** A waiting job's message, read back by sequence; `undefined` when it is gone (cancelled). */
  async #readBack(w: WaitingEntry): Promise<DelayedEntry | undefined> {
    const { ctx } = this.o;
    const stored = await ctx.jsm.streams.getMessage(ctx.names.delayedStream, { seq: w.seq });
    if (!stored) return undefined;
    return this.#describe(w.seq, w.runAt, stored.subject, stored.header, stored.data, w.failures);
  }

  #forget(id: string): void {
    const seq = this.#byId.get(id);
    if (seq === undefined) return;
    this.#byId.delete(id);
    const e = this.#heap.remove(seq);
    if (e) this.#memory -= heldBytes(e);
    this.o.metrics.delayedPending.set(this.pending);
  }

  #pump(): void {
    if (!this.#active) return;
    const now = Date.now();
    while (this.#inFlight < this.#concurrency) {
      const held = this.#heap.peek();
      const waitingAt = this.#waiting.peekRunAt();
      const next = Math.min(held?.runAt ?? Infinity, waitingAt);
      if (next === Infinity) break;
      if (next > now + PREPARE_MS) {
        this.#arm(next - PREPARE_MS);
        break;
      }
      let top: WaitingEntry;
      if (held && held.runAt <= waitingAt) {
        this.#heap.pop();
        if (this.#byId.get(held.id) === held.seq) this.#byId.delete(held.id);
        this.#memory -= heldBytes(held);
        top = held;
      } else {
        const w = this.#waiting.pop() as { runAt: number; seq: number };
        top = { ...w, failures: this.#waitingFailures.get(w.seq) ?? 0 };
        this.#waitingFailures.delete(w.seq);
      }
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
    this.o.metrics.delayedPending.set(this.pending);
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

  async #release(item: WaitingEntry, gen: number, free: () => void): Promise<void> {
    let e: DelayedEntry | undefined;
    try {
      if (!this.#current(gen)) return;
      e = 'data' in item ? (item as DelayedEntry) : await this.#readBack(item);
    } catch (err) {
      this.#retry(item, gen, err);
      return;
    }
    if (e) await this.#releaseHeld(e, gen, free);
    else this.o.metrics.skipped.inc({ reason: 'gone' });
  }

  async #releaseHeld(e: DelayedEntry, gen: number, free: () => void): Promise<void> {
    const { ctx, metrics } = this.o;
    const { names } = ctx;
    const drop = async (reason: string): Promise<void> => {
      await this.#delete(e.seq);
      metrics.skipped.inc({ reason });
    };
    try {
      if (!this.#current(gen)) return;
      const { data, headers } = e;
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
      const h = copyHeaders(headers);
      h.set(Hdr.JobId, e.id);
      const subject = names.jobSubject(e.type, e.priority as Priority);
      // A child of the enqueue's trace; the released message carries the release's context.
      const span = releaseSpan(e, subject, headers);
      injectSpan(h, span);
      const ack = await ctx.js
        .publish(subject, data, { msgID: `${e.id}.release.${e.seq}`, headers: h })
        .catch((err: unknown) => {
          failSpan(span, err);
          throw err;
        });
      span.end();
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

  #retry(e: WaitingEntry, gen: number, err: unknown): void {
    const { metrics, log } = this.o;
    metrics.releaseFailures.inc();
    e.failures++;
    const retryInMs = Math.min(30_000, 250 * 2 ** Math.min(e.failures, 7));
    log.warn(
      {
        err: (err as Error).message,
        jobId: (e as Partial<DelayedEntry>).id,
        seq: e.seq,
        retryInMs,
      },
      'delayed release failed; will retry',
    );
    if (!this.#current(gen)) return;
    e.runAt = Date.now() + retryInMs;
    const held = 'data' in e ? (e as DelayedEntry) : undefined;
    if (held && this.#memory + heldBytes(held) <= this.#budget) {
      if (this.#heap.push(held)) {
        this.#memory += heldBytes(held);
        this.#byId.set(held.id, held.seq);
      }
    } else {
      this.#waiting.push(e.runAt, e.seq);
      this.#waitingFailures.set(e.seq, e.failures);
    }
    this.#pump();
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
    const h = copyHeaders(headers, [Hdr.MsgId, Hdr.JobId]);
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

/** The span of one delayed job's release (a no-op without an SDK). */
function releaseSpan(e: DelayedEntry, subject: string, headers: MsgHdrs | undefined) {
  const span = startSpan(
    `rfw.release ${e.type}`,
    SpanKind.PRODUCER,
    {},
    contextFromHeaders(headers),
  );
  if (span.isRecording())
    span.setAttributes({
      [TraceAttr.MessagingSystem]: 'nats',
      [TraceAttr.Destination]: subject,
      [TraceAttr.JobId]: e.id,
      [TraceAttr.JobType]: e.type,
      [TraceAttr.Priority]: e.priority,
      'rfw.release.lateness_ms': Math.max(0, Date.now() - e.runAt),
    });
  return span;
}
