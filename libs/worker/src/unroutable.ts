/**
 * Jobs that can never run: the jobs stream captures `<prefix>.jobs.*.<priority>`,
 * so a type token no worker could ever register (`Chaos`, `a b`) is stored but
 * matched by no consumer. Every worker instance sweeps such subjects now and then
 * and dead-letters what it finds, so nothing sits in the stream forever.
 */
import type { JsMsg, StoredMsg } from '@nats-io/jetstream';
import { LIMITS, jobIdOf, readQueueCoverage } from '@rfw/core/internal';
import { deadLetter } from './dead-letter.js';
import type { RunnerDeps } from './job-runner.js';

/** DLQ type (`<prefix>.dlq.invalid-type`) of jobs published under an invalid type. */
export const UNROUTABLE_TYPE = 'invalid-type';

/** Dead-letter every message on a jobs subject whose type is invalid. Resolves with how many. */
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
  for (const subject of Object.keys(info.state.subjects ?? {})) {
    const parsed = core.names.parseJobSubject(subject);
    if (!parsed || LIMITS.typePattern.test(parsed.type)) continue;
    let seq = 1;
    for (;;) {
      let m: StoredMsg | null;
      try {
        m = await core.jsm.direct.getMessage(core.names.jobsStream, { seq, next_by_subj: subject });
      } catch {
        m = null;
      }
      if (!m) break;
      seq = m.seq + 1;
      const stored = m;
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
  return moved;
}
