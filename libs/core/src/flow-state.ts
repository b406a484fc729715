/**
 * A flow's state between its children and its parent. The parent's record
 * waits (`waiting`, with `flow.children`); every child, when it ends, stores
 * its ending on `<prefix>.flow.<parent>.<state>`, deduplicated by
 * `<parent>.<child>`, then counts the parent's endings (one stream info: the
 * count per subject). The child that brings the count to the number of
 * children releases the parent: a compare-and-set of its record to `pending`,
 * then its message on its own subject. A child ending `dead` or `cancelled`
 * with the policy `fail` ends the parent `dead` at once.
 *
 * Every step is idempotent, so whoever ends a child runs them all before the
 * child's message is acked, and a replay after a crash runs them again:
 * - an ending stored twice (a replay after the dedupe window) is counted once,
 *   since the release reads the endings and counts distinct children;
 * - the release is a compare-and-set: of two children that both see the last
 *   count, one moves the record; the other finds it `pending` and publishes
 *   the message only if the parent's subject holds none (the publish is
 *   deduplicated by `<parent>.flow` besides);
 * - a parent released twice cannot run twice: its message says `Rfw-Record: 1`,
 *   so a worker reads its record, and a finished record is not run again.
 */
import type { CoreContext } from './context.js';
import { publishEvent } from './context.js';
import { directGet } from './batch-reads.js';
import { TERMINAL_STATES, type ChildFailurePolicy, type Job, type JobState } from './job.js';
import { publishOutcomeEvent } from './outcome-events.js';
import { addTransition } from './records.js';
import { Hdr, decodeJson, encodeJobHeaders, encodeJson } from './wire.js';

/** One ended child of a flow, as its parent's handler reads it. */
export interface ChildEnding {
  /** The child's id. */
  id: string;
  /** The child's type. */
  type: string;
  /** How it ended. */
  state: 'succeeded' | 'dead' | 'cancelled';
  /** What its failure does to the parent. */
  onFailure: ChildFailurePolicy;
  /** When it ended, ms since the epoch. */
  at: number;
  /** What its handler returned, when it succeeded. */
  result?: unknown;
  /** Why it failed, when it did. */
  error?: string;
}

/** A parent's children's endings, as its handler gets them. */
export interface ChildEndings {
  /** Children that succeeded, with their results. */
  succeeded: ChildEnding[];
  /** Children that ended `dead` or `cancelled` under the policy `continue`. */
  failed: ChildEnding[];
  /** Children that failed under the policy `ignore`. */
  ignored: ChildEnding[];
}

type Ctx = Pick<CoreContext, 'js' | 'jsm' | 'nc' | 'names' | 'records'>;

/** How many children of `parentId` ended, by state (one stream info). */
export async function endedCounts(
  ctx: Pick<CoreContext, 'jsm' | 'names'>,
  parentId: string,
): Promise<{ succeeded: number; dead: number; cancelled: number }> {
  const info = await ctx.jsm.streams.info(ctx.names.flowsStream, {
    subjects_filter: ctx.names.flowSubject(parentId, '*'),
  });
  const subjects = info.state.subjects ?? {};
  const n = (s: JobState): number => subjects[ctx.names.flowSubject(parentId, s)] ?? 0;
  return { succeeded: n('succeeded'), dead: n('dead'), cancelled: n('cancelled') };
}

/** How many endings the counts add up to. */
export function endedTotal(c: { succeeded?: number; dead?: number; cancelled?: number }): number {
  return (c.succeeded ?? 0) + (c.dead ?? 0) + (c.cancelled ?? 0);
}

/**
 * Every stored ending of `parentId`'s children, one per child (the first
 * stored wins). `stored`: how many endings a count just made found (else
 * counted here).
 */
export async function readChildEndings(
  ctx: Pick<CoreContext, 'js' | 'jsm' | 'names'>,
  parentId: string,
  stored?: number,
): Promise<Map<string, ChildEnding>> {
  const out = new Map<string, ChildEnding>();
  // Endings are only added: fetch exactly as many as were counted, so no
  // fetch waits for its expiry.
  let left = stored ?? endedTotal(await endedCounts(ctx, parentId));
  if (left === 0) return out;
  const consumer = await ctx.js.consumers.get(ctx.names.flowsStream, {
    filter_subjects: ctx.names.flowSubject(parentId, '*'),
  });
  try {
    while (left > 0) {
      const batch = await consumer.fetch({ max_messages: Math.min(left, 1000), expires: 5000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        const e = decodeJson<ChildEnding>(m.data);
        if (!out.has(e.id)) out.set(e.id, e);
      }
      if (got === 0) break;
      left -= got;
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
  return out;
}

/** Split endings as a parent's handler gets them. */
export function sortEndings(endings: Iterable<ChildEnding>): ChildEndings {
  const out: ChildEndings = { succeeded: [], failed: [], ignored: [] };
  for (const e of endings) {
    if (e.state === 'succeeded') out.succeeded.push(e);
    else if (e.onFailure === 'ignore') out.ignored.push(e);
    else out.failed.push(e);
  }
  return out;
}

/**
 * Everything a child's ending does to its flow: store the ending, then end
 * or release the parent when it is due. Call it after the child's terminal
 * record and event are stored and before its message is acked; it is safe to
 * call again (a replay). A job without a parent, or not ended, is left alone.
 */
export async function recordChildEnding(ctx: Ctx, job: Job): Promise<void> {
  const p = job.parent;
  if (!p || !TERMINAL_STATES.has(job.state)) return;
  const state = job.state as ChildEnding['state'];
  const last = job.history[job.history.length - 1];
  const ending: ChildEnding = {
    id: job.id,
    type: job.type,
    state,
    onFailure: p.onFailure,
    at: last?.at ?? job.updatedAt,
    ...(state === 'succeeded'
      ? { result: job.result }
      : { error: job.lastError ?? job.deadReason ?? last?.error ?? state }),
  };
  await ctx.js.publish(ctx.names.flowSubject(p.id, state), encodeJson(ending), {
    msgID: `${p.id}.${job.id}`,
  });
  if (state !== 'succeeded' && p.onFailure === 'fail') {
    await failParent(ctx, p.id, `child ${job.id} ${state}: ${ending.error ?? ''}`.trim());
    return;
  }
  // Children of one parent ending in this process at once share their
  // counts, and their settling: each gets a count made after its own ending
  // was stored (see `SingleFlight`), so none misses the last one.
  const flights = flightsOf(ctx);
  const c = await flights.get(`count.${p.id}`, () => endedCounts(ctx, p.id));
  const count = endedTotal(c);
  if (count < p.siblings) return;
  await flights.get(`settle.${p.id}`, () => settleParent(ctx, p.id, p.siblings, job.id, count));
}

/**
 * Calls of one async function, shared: a caller gets the result of a call
 * that started after it asked (the one running, if it started after; else
 * the next, started once the running one ends), so at most two run per key.
 */
class SingleFlight {
  readonly #keys = new Map<string, { run?: Promise<unknown>; next?: Promise<unknown> }>();

  get<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const k = this.#keys.get(key) ?? {};
    this.#keys.set(key, k);
    if (!k.run) return this.#start(key, k, fn);
    const after = k.run.then(noop, noop);
    k.next ??= after.then(() => {
      k.next = undefined;
      return this.#start(key, k, fn);
    });
    return k.next as Promise<T>;
  }

  #start<T>(
    key: string,
    k: { run?: Promise<unknown>; next?: Promise<unknown> },
    fn: () => Promise<T>,
  ): Promise<T> {
    const p = fn();
    k.run = p;
    void p.then(noop, noop).then(() => {
      if (k.run !== p) return;
      k.run = undefined;
      if (!k.next) this.#keys.delete(key);
    });
    return p;
  }
}

const noop = (): void => undefined;
const flightsByConnection = new WeakMap<object, SingleFlight>();
function flightsOf(ctx: Pick<CoreContext, 'nc'>): SingleFlight {
  let f = flightsByConnection.get(ctx.nc);
  if (!f) flightsByConnection.set(ctx.nc, (f = new SingleFlight()));
  return f;
}

/**
 * Release `parentId` if all its children ended; publish its message if it
 * was released and the message is missing (a crash between the two).
 * `claimer` names the caller (a child's id, or `flow()`): of the children
 * that count the last endings at about the same time, the first to claim
 * the release on the parent's record reads the endings, the others stop
 * there (without it, every one of them read all the endings at once).
 * `counted`: the endings a count made after the caller's own ending found.
 */
export async function settleParent(
  ctx: Ctx,
  parentId: string,
  children: number,
  claimer: string,
  counted?: number,
): Promise<void> {
  const count = counted ?? endedTotal(await endedCounts(ctx, parentId));
  if (count < children) return;
  const rec = await ctx.records.get(parentId);
  // No record yet: the producer creates it after the children and settles then.
  if (!rec?.job.flow) return;
  let job = rec.job;
  let revision = rec.revision;
  if (job.state === 'waiting') {
    const flow = job.flow!;
    const claim = flow.releasing;
    // Another caller claimed it with at least this count: it releases.
    if (claim && claim.by !== claimer && claim.count >= count) return;
    if (claim?.by !== claimer || claim.count !== count) {
      const claimed: Job = { ...job, flow: { ...flow, releasing: { by: claimer, count } } };
      const rev = await ctx.records.update(claimed, revision);
      if (rev === undefined) return; // another claim, a release or a cancel came first
      job = claimed;
      revision = rev;
    }
    const endings = await readChildEndings(ctx, parentId, count);
    // Fewer distinct children than endings (a copy stored twice): a later
    // ending, counted higher, claims it again.
    if (endings.size < flow.children) return;
    const failed = [...endings.values()].find(
      (e) => e.state !== 'succeeded' && e.onFailure === 'fail',
    );
    if (failed) {
      // Its ending was stored, but a crash kept it from ending the parent.
      await failParent(ctx, parentId, `child ${failed.id} ${failed.state}: ${failed.error ?? ''}`);
      return;
    }
    const { releasing: _claim, ...summary } = job.flow!;
    const next = addTransition({ ...job, flow: summary }, { state: 'pending', at: Date.now() });
    const rev = await ctx.records.update(next, revision);
    // Lost the race: the winner publishes (or a canceller ended it).
    if (rev === undefined) return;
    job = next;
  }
  if (job.state === 'pending') await publishParent(ctx, job);
}

/** The released parent's message, on its own subject, unless it is there already. */
async function publishParent(ctx: Ctx, job: Job): Promise<void> {
  const subject = ctx.names.jobMessageSubject(job.type, job.priority, job.id);
  if (await directGet(ctx, ctx.names.jobsStream, 1, subject)) return;
  const headers = encodeJobHeaders({
    id: job.id,
    maxRetries: job.maxRetries,
    timeoutMs: job.timeoutMs,
    createdAt: job.createdAt,
    backoff: job.backoff,
    parent: job.parent,
  });
  headers.set(Hdr.Record, '1');
  await ctx.js.publish(subject, encodeJson(job.payload), { msgID: `${job.id}.flow`, headers });
  publishEvent(ctx, {
    id: job.id,
    type: job.type,
    priority: job.priority,
    state: 'pending',
    at: job.updatedAt,
  });
}

/**
 * End a waiting parent `dead` because a child failed under `fail`; its event
 * is stored (deduplicated), and its own parent, if any, learns of it. Again
 * for a parent already ended so: a replay finishes what a crash cut short.
 */
export async function failParent(ctx: Ctx, parentId: string, reason: string): Promise<void> {
  const at = Date.now();
  const res = await ctx.records.mutate(parentId, (cur) => {
    if (!cur || cur.state !== 'waiting') return undefined;
    return addTransition(
      { ...cur, deadReason: reason, lastError: reason, location: undefined },
      { state: 'dead', at, error: reason },
    );
  });
  const job = res?.job;
  const last = job?.history[job.history.length - 1];
  // Only a parent its flow ended (a dead transition without a message).
  if (!job?.flow || job.state !== 'dead' || !last || last.seq !== undefined) return;
  await publishOutcomeEvent(
    ctx,
    {
      id: job.id,
      type: job.type,
      priority: job.priority,
      state: 'dead',
      at: last.at,
      error: job.deadReason,
    },
    'flow',
  );
  await recordChildEnding(ctx, job);
}
