/**
 * Scenario 6a: malformed messages published straight to job subjects, as any
 * NATS client could: generated with fast-check (bodies that are not JSON,
 * binary, empty, of the wrong shape or huge; broken, missing or noise
 * headers), plus hand-picked subjects no consumer matches. The worker must not
 * crash, and every bad message must land in the DLQ with a readable reason,
 * while good jobs keep flowing.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { headers as natsHeaders } from '@nats-io/nats-core';
import type { DeadLetter } from '@rfw/core';
import { waitFor } from '@rfw/testkit';
import { badMessage, type BadMessage } from './support/bad-messages.js';
import { readRecords, unsettledMessages } from './support/ledger.js';
import { scratchDir } from './support/paths.js';
import { useChaosHarness } from './support/chaos-harness.js';
import { writeReport } from './support/report.js';
import { execLogIn } from './support/scenario.js';

const CASES = Number(process.env.CHAOS_BAD_MESSAGES ?? 4000);
const SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 2 ** 31);

/** A reason an operator can read: printable text of sensible length. */
const readable = (s: string): boolean =>
  s.length > 10 &&
  s.length <= 1100 &&
  ![...s].some((ch) => ch.charCodeAt(0) < 0x20 || ch === '\u007f');

describe('job_processing: chaos: malformed job messages', () => {
  const h = useChaosHarness();

  it(`dead-letters ${CASES} generated bad messages with readable reasons, and never crashes`, async () => {
    const started = Date.now();
    const prefix = 'chaos6';
    const execLog = execLogIn(scratchDir('badmsg'));
    const queue = await h.queue({ prefix });
    const { js, names } = queue.ctx;
    const pool = h.pool({ prefix, execLog, concurrency: 16 });
    await pool.start(1);
    const pid = pool.pids().get(0);

    const cases = fc.sample(badMessage, { numRuns: CASES, seed: SEED });
    type Sent = { c: BadMessage; subject: string; id: string; seq: number };
    const sent: Sent[] = [];
    const refused: Array<{ kind: string; error: string }> = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < cases.length) {
          const i = next++;
          const c = cases[i] as BadMessage;
          const subject = names.jobSubject('chaos', c.priority as never);
          let h;
          let id = '';
          if (c.headers) {
            h = natsHeaders();
            for (const [k, v] of c.headers) h.append(k, v);
            if (!h.has('Rfw-Job-Id')) {
              id = `bad-${i}`;
              h.set('Rfw-Job-Id', id);
            }
          }
          try {
            const ack = await js.publish(subject, c.body, { headers: h });
            sent.push({ c, subject, id: id || `s${ack.seq}`, seq: ack.seq });
          } catch (err) {
            refused.push({ kind: c.kind, error: (err as Error).message });
          }
        }
      }),
    );

    // Subjects under jobs.> that no worker's consumer matches. An unknown priority
    // or a token past the job id is refused by the stream at publish time (never
    // accepted); a type no worker can ever register is accepted and then dead-lettered.
    const refusedStray = [
      names.jobSubject('chaos', 'urgent' as never),
      `${names.jobMessageSubject('chaos', 'normal', 'extra')}.more`,
    ];
    // A job on its own subject (v2) whose Rfw-Job-Id header names another job is poison.
    const mismatch = natsHeaders();
    mismatch.set('Rfw-Job-Id', 'header-id');
    await js.publish(names.jobMessageSubject('chaos', 'normal', 'subject-id'), '{}', {
      headers: mismatch,
    });
    const strayAccepted: string[] = [];
    for (const [k, subject] of refusedStray.entries()) {
      const h = natsHeaders();
      h.set('Rfw-Job-Id', `refused-${k}`);
      const accepted = await js
        .publish(subject, JSON.stringify({ n: k }), { headers: h, timeout: 2000 })
        .then(
          () => true,
          () => false,
        );
      if (accepted) strayAccepted.push(subject);
    }
    const stray = [`${prefix}.jobs.Chaos.normal`];
    const straySent: Array<{ subject: string; id: string }> = [];
    for (const [k, subject] of stray.entries()) {
      const h = natsHeaders();
      h.set('Rfw-Job-Id', `stray-${k}`);
      await js.publish(subject, JSON.stringify({ n: k }), { headers: h });
      straySent.push({ subject, id: `stray-${k}` });
    }

    // Good jobs still flow through the same worker.
    const good = await Promise.all(
      Array.from({ length: 20 }, (_, n) => queue!.schedule('chaos', { n })),
    );
    const settled = await waitFor(
      'every message to be dead-lettered or done',
      async () => (await unsettledMessages(queue!.ctx)) === 0,
      { timeoutMs: 120_000, intervalMs: 250 },
    ).catch(() => false);
    // No consumer matches the stray subjects: the worker's periodic sweep (every
    // 5 s at most) dead-letters them, so wait for it rather than for a consumer.
    await waitFor(
      'the stray messages to be swept to the DLQ',
      async () =>
        (await queue!.listDeadLetters({ type: 'invalid-type', limit: 1000 })).deadLetters.length >=
        straySent.length,
      { timeoutMs: 30_000, intervalMs: 250 },
    ).catch(() => false);

    // Read the whole DLQ back.
    const dead: DeadLetter[] = [];
    let cursor: string | undefined;
    for (const type of ['chaos', 'invalid-type']) {
      cursor = undefined;
      do {
        const page = await queue.listDeadLetters({ type, limit: 1000, cursor });
        dead.push(...page.deadLetters);
        cursor = page.nextCursor;
      } while (cursor);
    }
    const byId = new Map<string, DeadLetter[]>();
    for (const d of dead) byId.set(d.id, [...(byId.get(d.id) ?? []), d]);

    const missing: string[] = [];
    const wrongReason: string[] = [];
    const unreadable: string[] = [];
    const duplicated: string[] = [];
    const byKind: Record<string, number> = {};
    for (const s of sent) {
      const kind = s.c.kind.replace(/\/no-headers$/, '');
      byKind[kind] = (byKind[kind] ?? 0) + 1;
      const found = byId.get(s.id) ?? [];
      const d = found[0];
      if (!d) {
        missing.push(`${s.id} (${s.c.kind})`);
        continue;
      }
      if (found.length > 1) duplicated.push(s.id);
      if (!readable(d.reason)) unreadable.push(`${s.id}: ${JSON.stringify(d.reason.slice(0, 80))}`);
      if (!d.reason.startsWith('poison message:') || !s.c.reason.test(d.reason)) {
        wrongReason.push(`${s.id} (${s.c.kind}): ${d.reason.slice(0, 160)}`);
      }
    }
    const strayMissing = straySent.filter((s) => !byId.has(s.id)).map((s) => s.subject);
    const records = await readRecords(
      queue,
      sent.map((s) => s.id),
    );
    const notDead = sent.filter((s) => records.get(s.id)?.state !== 'dead').map((s) => s.id);
    const goodRecords = await readRecords(queue, good);
    const goodDone = good.filter((id) => goodRecords.get(id)?.state === 'succeeded').length;
    const samples = Object.fromEntries(
      [...new Set(sent.map((s) => s.c.kind))].map((k) => {
        const s = sent.find((x) => x.c.kind === k) as Sent;
        return [k, (byId.get(s.id)?.[0]?.reason ?? '(missing)').slice(0, 200)];
      }),
    );

    const report = {
      id: '6a-bad-messages',
      title: `${CASES} generated malformed messages on job subjects (fast-check seed ${SEED}) + ${stray.length} stray subjects`,
      finishedAt: new Date().toISOString(),
      durationMs: Date.now() - started,
      jobsScheduled: sent.length + straySent.length,
      terminal: {
        succeeded: 0,
        dead: sent.length - notDead.length,
        cancelled: 0,
      },
      lost: missing.length + strayMissing.length,
      multipleTerminal: duplicated.length,
      multipleTerminalRecords: 0,
      multipleTerminalEvents: 0,
      wrongOutcome: wrongReason.length + unreadable.length + notDead.length,
      executions: 0,
      extraExecutions: 0,
      unplannedExecutions: 0,
      faults: {
        badMessages: sent.length,
        straySubjects: stray.length,
        refusedByClient: refused.length,
      },
      producerErrors: {},
      crashes: pool.crashes.length,
      extra: {
        seed: SEED,
        settled,
        byKind,
        deadLetters: dead.length,
        goodJobs: good.length,
        goodSucceeded: goodDone,
        strayNotDeadLettered: strayMissing,
        reasonSamples: samples,
        workerPidUnchanged: pool.pids().get(0) === pid,
      },
      examples: {
        missing: missing.slice(0, 10),
        wrongReason: wrongReason.slice(0, 10),
        unreadable: unreadable.slice(0, 10),
        notDead: notDead.slice(0, 10),
      },
    };
    writeReport(report);

    expect(byId.get('subject-id')?.[0]?.reason).toMatch(/differs from the subject's id/);
    expect(pool.crashes).toEqual([]);
    expect(pool.pids().get(0)).toBe(pid);
    expect(refused).toEqual([]);
    expect(goodDone).toBe(good.length);
    expect(missing, `seed ${SEED}`).toEqual([]);
    expect(duplicated, `seed ${SEED}`).toEqual([]);
    expect(wrongReason, `seed ${SEED}`).toEqual([]);
    expect(unreadable, `seed ${SEED}`).toEqual([]);
    expect(notDead, `seed ${SEED}`).toEqual([]);
    expect(strayAccepted, 'subjects outside the four priorities are refused at publish').toEqual(
      [],
    );
    expect(
      strayMissing,
      'messages on subjects no consumer matches are never dead-lettered',
    ).toEqual([]);
  }, 240_000);
});
