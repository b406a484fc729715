/**
 * Jobs that can never run: the jobs stream captures `<prefix>.jobs.*.<priority>`,
 * so a type token no worker could ever register (`Chaos`, `a b`) is stored but
 * matched by no consumer. Every worker instance sweeps such subjects now and then
 * and dead-letters what it finds, so nothing sits in the stream forever.
 *
 * The same sweep moves jobs stored by wire format v1 before an upgrade (on
 * `<prefix>.jobs.<type>.<priority>`, which no v2 consumer matches) to their v2
 * subject: it publishes each again to its v1 subject, which the stream now
 * stores as `<prefix>.jobs.<type>.<priority>._`, then deletes the old message.
 */
import type { JsMsg, StoredMsg } from '@nats-io/jetstream';
import {
  Hdr,
  LIMITS,
  PRIORITIES,
  copyHeaders,
  jobIdOf,
  readQueueCoverage,
} from '@rfw/core/internal';
import { deadLetter } from './dead-letter.js';
import type { RunnerDeps } from './job-runner.js';

/** DLQ type (`<prefix>.dlq.invalid-type`) of jobs published under an invalid type. */
export const UNROUTABLE_TYPE = 'invalid-type';

/**
 * Dead-letter every message on a jobs subject whose type is invalid, and move
 * every job stored on a v1 subject to its v2 one. Resolves with how many
 * messages it dead-lettered or moved.
 */
export async function sweepUnroutable(
  deps: Pick<RunnerDeps, 'core' | 'log' | 'metrics' | 'opts'>,
): Promise<number> {
  const { core } = deps;
  // Listing the stored subjects is O(waiting jobs) since jobs have subjects of
  // their own (v2): do it only when the consumers do not account for every
  // message, i.e. some subject is matched by no consumer.
  const { covered, messages } = await readQueueCoverage(core);
  if (messages <= covered) return 0;
  const info = await core.jsm.streams.info(core.names.jobsStream, {
    subjects_filter: core.names.jobsWildcard,
  });
  let moved = 0;
  let migrated = 0;
  for (const subject of Object.keys(info.state.subjects ?? {})) {
    const parsed = core.names.parseJobSubject(subject);
    if (!parsed) continue;
    if (LIMITS.typePattern.test(parsed.type)) {
      const storedByV1 = subject.split('.').length === 4;
      if (storedByV1 && (PRIORITIES as readonly string[]).includes(parsed.priority))
        migrated += await moveToV2(deps, subject);
      continue;
    }
    for await (const stored of storedOn(core, subject)) {
      // The dead-letter path settles a delivered message; here settling means deleting it.
      const asDelivered = {
        subject: stored.subject,
        seq: stored.seq,
        data: stored.data,
        headers: stored.header,
        ack: () => undefined,
        nak: () => undefined,
      } as unknown as JsMsg;
      const id = jobIdOf(stored.header, stored.seq);
      await deadLetter(deps, asDelivered, {
        id: LIMITS.idPattern.test(id) ? id : `s${stored.seq}`,
        // Dead letters need a valid type token: these go under a reserved one.
        type: UNROUTABLE_TYPE,
        priority: parsed.priority,
        reason: `poison message: invalid job type ${JSON.stringify(parsed.type)} in subject ${subject}: no worker can take it`,
      });
      await core.jsm.streams
        .deleteMessage(core.names.jobsStream, stored.seq, false)
        .catch(() => false);
      moved++;
    }
  }
  if (moved) deps.log.warn({ moved }, 'dead-lettered jobs published under an invalid type');
  if (migrated)
    deps.log.info({ migrated }, 'moved jobs stored by wire format v1 to their v2 subjects');
  return moved + migrated;
}

/**
 * Publish every message stored on the v1 subject `subject` again (the stream
 * stores it under the v2 transform), then delete the old one. A crash between
 * the two leaves both; the dedupe id `<id>.v1.<seq>` makes the next sweep's
 * publish a no-op within the stream's duplicate window.
 */
async function moveToV2(deps: Pick<RunnerDeps, 'core'>, subject: string): Promise<number> {
  const { core } = deps;
  let moved = 0;
  for await (const m of storedOn(core, subject)) {
    const h = copyHeaders(m.header);
    // The id a v1 job had (from its headers, or its sequence) goes with it.
    const id = jobIdOf(m.header, m.seq);
    h.set(Hdr.JobId, id);
    await core.js.publish(subject, m.data, { headers: h, msgID: `${id}.v1.${m.seq}` });
    await core.jsm.streams.deleteMessage(core.names.jobsStream, m.seq, false).catch(() => false);
    moved++;
  }
  return moved;
}

/** The messages the jobs stream holds on `subject`, oldest first (direct gets; ends on a failed read). */
async function* storedOn(core: RunnerDeps['core'], subject: string): AsyncGenerator<StoredMsg> {
  for (let seq = 1; ;) {
    let m: StoredMsg | null;
    try {
      m = await core.jsm.direct.getMessage(core.names.jobsStream, { seq, next_by_subj: subject });
    } catch {
      m = null;
    }
    if (!m) return;
    seq = m.seq + 1;
    yield m;
  }
}
