import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ON_TIME_MS,
  TimerHeap,
  DueHeap,
  loadSchedules,
  nextFireTime,
  parseSchedulerEnv,
  parseSchedules,
  parseSubmitRequest,
  planFires,
  type Schedule,
} from '@rfw/service-scheduler';

const enc = new TextEncoder();

describe('worker_coordination: scheduler configuration', () => {
  it('validates schedules and names the bad field', () => {
    const ok = parseSchedules([
      { name: 'cleanup', everyMs: 60_000, type: 'cleanup', payload: { dryRun: true } },
      { name: 'nightly', cron: '0 2 * * *', timezone: 'Europe/Stockholm', type: 'healing' },
    ]);
    expect(ok[0]).toMatchObject({
      misfire: 'latest',
      misfireGraceMs: 300_000,
      payload: { dryRun: true },
    });
    expect(ok[1]?.payload).toEqual({});
    const bad = (input: unknown, field: string): void => {
      expect(() => parseSchedules(input)).toThrow(
        expect.objectContaining({ name: 'ConfigError', field }),
      );
    };
    bad({}, 'schedules');
    bad([{ name: 'x', type: 'cleanup' }], 'schedules[0].cron');
    bad([{ name: 'x', cron: '* * * * *', everyMs: 1000, type: 'cleanup' }], 'schedules[0].cron');
    bad([{ name: 'x', cron: '61 * * * *', type: 'cleanup' }], 'schedules[0].cron');
    bad([{ name: 'x', everyMs: 10, type: 'cleanup' }], 'schedules[0].everyMs');
    bad([{ name: 'has space', everyMs: 1000, type: 'cleanup' }], 'schedules[0].name');
    bad([{ name: 'x', everyMs: 1000, type: 'Bad Type' }], 'schedules[0].type');
    bad([{ name: 'x', everyMs: 1000, type: 'a', priority: 'urgent' }], 'schedules[0].priority');
    bad([{ name: 'x', everyMs: 1000, type: 'a', colour: 'red' }], 'schedules[0]');
    bad([{ name: 'x', everyMs: 1000, type: 'a', timezone: 'UTC' }], 'schedules[0].timezone');
    bad(
      [
        { name: 'x', everyMs: 1000, type: 'a' },
        { name: 'x', everyMs: 2000, type: 'a' },
      ],
      'schedules[1].name',
    );
  });

  it('accepts the example schedules file', () => {
    const file = fileURLToPath(new URL('../schedules.example.json', import.meta.url));
    expect(loadSchedules({ SCHEDULES_FILE: file }).map((s) => s.name)).toEqual([
      'cleanup',
      'nightly-heal',
      'node-metrics',
    ]);
  });

  it('loads SCHEDULES_FILE and SCHEDULES, with errors naming the source', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rfw-sched-'));
    const file = join(dir, 's.json');
    writeFileSync(file, JSON.stringify({ schedules: [{ name: 'a', everyMs: 1000, type: 't' }] }));
    const all = loadSchedules({
      SCHEDULES_FILE: file,
      SCHEDULES: '[{"name":"b","cron":"* * * * * *","type":"t"}]',
    });
    expect(all.map((s) => s.name)).toEqual(['a', 'b']);
    expect(() => loadSchedules({ SCHEDULES: '[{' })).toThrow(
      expect.objectContaining({ field: 'SCHEDULES' }),
    );
    expect(() => loadSchedules({ SCHEDULES_FILE: join(dir, 'missing.json') })).toThrow(
      expect.objectContaining({ field: 'SCHEDULES_FILE' }),
    );
    expect(() => loadSchedules({ SCHEDULES: '[{"name":"a","everyMs":5,"type":"t"}]' })).toThrow(
      expect.objectContaining({ field: 'SCHEDULES[0].everyMs' }),
    );
    expect(() => parseSchedulerEnv({ LEADER_ELECTION_TIMEOUT_MS: 'soon' })).toThrow(
      expect.objectContaining({ name: 'ConfigError', field: 'LEADER_ELECTION_TIMEOUT_MS' }),
    );
    expect(parseSchedulerEnv({})).toMatchObject({
      RFW_PREFIX: 'rfw',
      LEADER_ELECTION_TIMEOUT_MS: 10_000,
    });
  });

  it('computes fire times: intervals aligned to the epoch, cron with seconds', () => {
    const [every, cron] = parseSchedules([
      { name: 'e', everyMs: 5000, type: 't' },
      { name: 'c', cron: '*/2 * * * * *', type: 't' },
    ]) as [Schedule, Schedule];
    expect(nextFireTime(every, 12_345)).toBe(15_000);
    expect(nextFireTime(every, 15_000)).toBe(20_000);
    const base = Date.UTC(2025, 0, 1, 0, 0, 0);
    expect(nextFireTime(cron, base)).toBe(base + 2000);
    expect(nextFireTime(cron, base + 500)).toBe(base + 2000);
  });

  it('applies the misfire policy to fire times that are late', () => {
    const [s] = parseSchedules([
      { name: 'e', everyMs: 1000, type: 't', misfireGraceMs: 10_000 },
    ]) as [Schedule];
    const now = 100_000;
    const missed = [85_000, 92_000, 93_000, 94_000];
    expect(planFires(s, missed, now)).toEqual([94_000]);
    expect(planFires(s, [...missed, now - ON_TIME_MS + 1], now)).toEqual([now - ON_TIME_MS + 1]);
    expect(planFires({ ...s, misfire: 'all' }, missed, now)).toEqual([92_000, 93_000, 94_000]);
    expect(planFires({ ...s, misfire: 'skip' }, missed, now)).toEqual([]);
    expect(planFires({ ...s, misfireGraceMs: 1000 }, missed, now)).toEqual([]);
  });

  it('parses submission requests with typed errors', () => {
    const ok = parseSubmitRequest(
      enc.encode(
        JSON.stringify({ type: 't', payload: 1, options: { runAt: '2030-01-01T00:00:00Z' } }),
      ),
    );
    expect(ok.options.runAt).toBe(Date.parse('2030-01-01T00:00:00Z'));
    const field = (body: string): string | undefined => {
      try {
        parseSubmitRequest(enc.encode(body));
      } catch (err) {
        return (err as { field?: string }).field;
      }
      return undefined;
    };
    expect(field('{')).toBe('body');
    expect(field('[]')).toBe('body');
    expect(field('{"type":"t","payload":1,"extra":1}')).toBe('extra');
    expect(field('{"type":"t","payload":1,"options":{"colour":1}}')).toBe('options.colour');
    expect(field('{"type":"t","payload":1,"options":{"runAt":"someday"}}')).toBe('runAt');
  });

  it('keeps the timer heap ordered with removals', () => {
    const h = new TimerHeap<{ runAt: number; seq: number }>();
    const runAts = Array.from({ length: 500 }, (_, i) => ((i * 7919) % 1000) + 1);
    runAts.forEach((runAt, seq) => h.push({ runAt, seq }));
    for (let seq = 0; seq < 500; seq += 3) h.remove(seq);
    const out: number[] = [];
    for (let e = h.pop(); e; e = h.pop()) out.push(e.runAt);
    expect(out).toEqual([...out].sort((a, b) => a - b));
    expect(out).toHaveLength(500 - 167);
  });

  it('pops the compact due heap in (runAt, seq) order through growth, interleaved pushes and shrinking', () => {
    const op = fc.oneof(
      fc.record({ push: fc.tuple(fc.integer({ min: 0, max: 50 }), fc.nat()) }),
      fc.constant({ pop: true as const }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 3000 }), fc.nat({ max: 6000 }), (ops, bulk) => {
        const h = new DueHeap();
        const model: [number, number][] = [];
        const cmp = (a: [number, number], b: [number, number]): number =>
          a[0] - b[0] || a[1] - b[1];
        // A bulk load first, so that the arrays grow past their first size and shrink back.
        for (let i = 0; i < bulk; i++) {
          h.push(i % 97, i);
          model.push([i % 97, i]);
        }
        for (const o of ops) {
          if ('push' in o) {
            h.push(o.push[0], o.push[1]);
            model.push(o.push);
          } else {
            model.sort(cmp);
            const want = model.shift();
            const got = h.pop();
            expect(got && [got.runAt, got.seq]).toEqual(want);
          }
          expect(h.size).toBe(model.length);
        }
        model.sort(cmp);
        expect(h.peekRunAt()).toBe(model[0]?.[0] ?? Infinity);
        const rest: [number, number][] = [];
        for (let e = h.pop(); e; e = h.pop()) rest.push([e.runAt, e.seq]);
        expect(rest).toEqual(model);
      }),
      { numRuns: 60 },
    );
  });
});
