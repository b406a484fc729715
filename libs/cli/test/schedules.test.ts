import { describe, expect, it } from 'vitest';
import type { StoredSchedule } from '@rfw/core';
import { useHarness, type CliResult } from './helpers.js';

/** Run `fn` over `items` two at a time: each CLI start costs about a second of CPU. */
async function twoAtATime<T, R>(items: T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += 2) {
    out.push(...(await Promise.all(items.slice(i, i + 2).map(fn))));
  }
  return out;
}

const jsonError = (r: CliResult): { message: string; exitCode: number; field?: string } =>
  (JSON.parse(r.stderr.trim().split('\n').pop() as string) as { error: never }).error;

// Generous timeouts: each test runs the CLI many times, and the machine is shared.
describe('integration: rfw schedules', { timeout: 180_000 }, () => {
  const h = useHarness();

  it('adds cron and interval schedules; what add stored is what JobQueue.schedules reads', async () => {
    const q = await h.queue();
    const [cron, every] = await Promise.all([
      h.cli([
        'schedules',
        'add',
        'nightly',
        '--type',
        'report',
        '--cron',
        '0 3 * * *',
        '--tz',
        'Europe/Berlin',
        '--payload',
        '{"month":"2024-05"}',
        '--priority',
        'high',
        '--max-retries',
        '4',
        '--timeout',
        '5m',
        '--misfire',
        'all',
        '--misfire-grace',
        '1h',
        '--by',
        'ops-test',
        '--json',
      ]),
      h.cli(['schedules', 'add', 'tick', '--type', 'ping', '--every', '500ms', '--paused']),
    ]);
    expect(cron.code, cron.stderr).toBe(0);
    expect(every.code, every.stderr).toBe(0);
    expect(every.stdout.trim()).toBe('tick added paused, next fire - (paused)');

    const printed = JSON.parse(cron.stdout) as StoredSchedule;
    const stored = await q.schedules.get('nightly');
    expect(stored).toEqual(printed);
    expect(stored).toMatchObject({
      v: 1,
      paused: false,
      by: 'ops-test',
      schedule: {
        name: 'nightly',
        cron: '0 3 * * *',
        timezone: 'Europe/Berlin',
        type: 'report',
        payload: { month: '2024-05' },
        priority: 'high',
        maxRetries: 4,
        timeout: 300_000,
        misfire: 'all',
        misfireGraceMs: 3_600_000,
      },
    });
    expect(stored?.schedule.everyMs).toBeUndefined();
    expect(await q.schedules.get('tick')).toMatchObject({
      paused: true,
      schedule: { name: 'tick', everyMs: 500, type: 'ping', payload: {}, misfire: 'latest' },
    });
    expect((await q.schedules.get('tick'))?.by).toMatch(/.@./);

    // The name is taken: exit 1, as for a job that is not found.
    const again = await h.cli(['schedules', 'add', 'tick', '--type', 'ping', '--every', '1s']);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe(
      'error: schedule exists: tick (update it, or remove it first)',
    );
    expect(again.stderr).not.toMatch(/\n\s+at /);
  });

  it('lists and shows schedules, as tables and --json', async () => {
    const q = await h.queue();
    await q.schedules.add({ name: 'b-every', everyMs: 90_000, type: 'ping' });
    await q.schedules.add(
      { name: 'a-cron', cron: '*/15 * * * *', timezone: 'Asia/Tokyo', type: 'report' },
      { paused: true },
    );

    const [table, json, show, showJson] = await Promise.all([
      h.cli(['schedules', 'list']),
      h.cli(['schedules', 'list', '--json']),
      h.cli(['schedules', 'show', 'b-every']),
      h.cli(['schedules', 'show', 'a-cron', '--json']),
    ]);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+CRON\/EVERY\s+TZ\s+TYPE\s+PAUSED\s+NEXT FIRE$/);
    expect(lines[1]).toMatch(/^a-cron\s+\*\/15 \* \* \* \*\s+Asia\/Tokyo\s+report\s+yes\s+-$/);
    expect(lines[2]).toMatch(
      /^b-every\s+every 1m30s\s+-\s+ping\s+no\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \(in \d+[sm]\)$/,
    );

    expect(json.code, json.stderr).toBe(0);
    const body = JSON.parse(json.stdout) as {
      schedules: Array<StoredSchedule & { nextFireAt: number | null }>;
    };
    expect(body.schedules.map((s) => s.schedule.name)).toEqual(['a-cron', 'b-every']);
    expect(body.schedules[0]?.nextFireAt).toBeNull();
    const [next] = await q.schedules.nextFireTimes('b-every', { count: 1 });
    expect(body.schedules[1]?.nextFireAt).toBe(next);
    expect((body.schedules[1]?.nextFireAt ?? 1) % 90_000).toBe(0);

    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/^name:\s+b-every$/m);
    expect(show.stdout).toMatch(/^every:\s+1m30s$/m);
    expect(show.stdout).toMatch(/^type:\s+ping$/m);
    expect(show.stdout).toMatch(/^misfire:\s+latest \(grace 5m\)$/m);
    expect(show.stdout).toMatch(/^paused:\s+no$/m);
    expect(show.stdout).toMatch(/^next fire:\s+\d{4}-.*Z \(in /m);
    expect(JSON.parse(showJson.stdout)).toEqual(await q.schedules.get('a-cron'));

    await q.schedules.remove('a-cron');
    await q.schedules.remove('b-every');
    const [empty, missing] = await Promise.all([
      h.cli(['schedules', 'list']),
      h.cli(['schedules', 'show', 'a-cron', '--json']),
    ]);
    expect(empty.stdout.trim()).toBe('(no schedules)');
    expect(missing.code).toBe(1);
    expect(jsonError(missing)).toEqual({ message: 'schedule not found: a-cron', exitCode: 1 });
  });

  it('updates, pauses, resumes and removes a schedule', async () => {
    const q = await h.queue();
    await q.schedules.add({ name: 'job1', cron: '0 * * * *', timezone: 'UTC', type: 'report' });

    // --every replaces --cron (and its time zone); other fields are kept.
    const up = await h.cli([
      'schedules',
      'update',
      'job1',
      '--every',
      '5m',
      '--payload',
      '{"k":1}',
      '--by',
      'ops-test',
    ]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/^job1 updated, next fire \d{4}-.*Z \(in \d+[sm]\)$/m);
    const after = await q.schedules.get('job1');
    expect(after?.schedule).toMatchObject({ everyMs: 300_000, type: 'report', payload: { k: 1 } });
    expect(after?.schedule.cron).toBeUndefined();
    expect(after?.schedule.timezone).toBeUndefined();
    expect(after?.by).toBe('ops-test');

    const upJson = await h.cli(['schedules', 'update', 'job1', '--type', 'mail', '--json']);
    expect(upJson.code, upJson.stderr).toBe(0);
    expect(JSON.parse(upJson.stdout)).toEqual(await q.schedules.get('job1'));
    expect((await q.schedules.get('job1'))?.schedule.type).toBe('mail');

    const pause = await h.cli(['schedules', 'pause', 'job1', '--by', 'ops-test']);
    expect(pause.code, pause.stderr).toBe(0);
    expect(pause.stdout.trim()).toBe('job1 paused');
    expect(await q.schedules.get('job1')).toMatchObject({ paused: true, by: 'ops-test' });

    const resume = await h.cli(['schedules', 'resume', 'job1', '--json']);
    expect(resume.code, resume.stderr).toBe(0);
    expect((JSON.parse(resume.stdout) as StoredSchedule).paused).toBe(false);
    expect((await q.schedules.get('job1'))?.paused).toBe(false);

    const remove = await h.cli(['schedules', 'remove', 'job1', '--json']);
    expect(remove.code, remove.stderr).toBe(0);
    expect(JSON.parse(remove.stdout)).toEqual({ name: 'job1', removed: true });
    expect(await q.schedules.get('job1')).toBeUndefined();

    // Each of them on a schedule that is not there: exit 1, a one-line message.
    const missing = await twoAtATime(
      [
        ['update', 'job1', '--type', 'x'],
        ['pause', 'job1'],
        ['resume', 'job1'],
        ['remove', 'job1'],
        ['next', 'job1'],
      ],
      (a) => h.cli(['schedules', ...a]),
    );
    for (const r of missing) {
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr.trim()).toBe('error: schedule not found: job1');
    }
  });

  it('lists next fire times in UTC, the local zone and the schedule zone, or --json', async () => {
    const q = await h.queue();
    await q.schedules.add({
      name: 'berlin',
      cron: '30 3 * * *',
      timezone: 'Europe/Berlin',
      type: 'report',
    });
    await q.schedules.add({ name: 'fast', everyMs: 60_000, type: 'ping' });
    const expected = await q.schedules.nextFireTimes('berlin', { count: 3 });

    const env = { TZ: 'Asia/Kolkata' };
    const [table, json] = await Promise.all([
      h.cli(['schedules', 'next', 'berlin', '--count', '3'], { env }),
      h.cli(['schedules', 'next', 'berlin', '--count', '3', '--json'], { env }),
    ]);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^UTC\s+LOCAL \(Asia\/(Kolkata|Calcutta)\)\s+Europe\/Berlin$/);
    expect(lines).toHaveLength(4);
    expected.forEach((at, i) => {
      const utc = new Date(at).toISOString();
      expect(lines[i + 1]).toMatch(
        new RegExp(
          `^${utc.replace(/\./g, '\\.')}\\s+\\S+T\\d\\d:\\d\\d:00\\.000\\+05:30\\s+\\S+T03:30`,
        ),
      );
    });

    expect(json.code, json.stderr).toBe(0);
    const body = JSON.parse(json.stdout) as {
      name: string;
      paused: boolean;
      timezone: string;
      next: Array<{ at: number; utc: string; local: string; inTimezone: string }>;
    };
    expect(body).toMatchObject({ name: 'berlin', paused: false, timezone: 'Europe/Berlin' });
    expect(body.next.map((n) => n.at)).toEqual(expected);
    for (const n of body.next) {
      expect(n.utc).toBe(new Date(n.at).toISOString());
      expect(Date.parse(n.local)).toBe(n.at);
      expect(Date.parse(n.inTimezone)).toBe(n.at);
      expect(n.inTimezone).toMatch(/T03:30:00\.000\+0[12]:00$/);
    }

    // Default count 5; --after; and none while paused.
    const after = Date.parse('2030-01-01T00:00:30Z');
    const [fast, afterJson] = await Promise.all([
      h.cli(['schedules', 'next', 'fast']),
      h.cli(['schedules', 'next', 'fast', '--after', '2030-01-01T00:00:30Z', '--json']),
    ]);
    expect(fast.code, fast.stderr).toBe(0);
    expect(fast.stdout.trimEnd().split('\n')).toHaveLength(6);
    expect((JSON.parse(afterJson.stdout) as typeof body).next.map((n) => n.at)).toEqual(
      [1, 2, 3, 4, 5].map((i) => after - 30_000 + i * 60_000),
    );
    await q.schedules.pause('fast');
    const [paused, pausedJson] = await Promise.all([
      h.cli(['schedules', 'next', 'fast']),
      h.cli(['schedules', 'next', 'fast', '--json']),
    ]);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout.trim()).toBe('(none: fast is paused)');
    expect(JSON.parse(pausedJson.stdout)).toMatchObject({ name: 'fast', paused: true, next: [] });
  });

  it('exits 2 with a one-line message naming the flag on bad input, storing nothing', async () => {
    const q = await h.queue();
    await q.schedules.add({ name: 'iv', everyMs: 1000, type: 'ping' });
    const add = ['schedules', 'add', 'x'];
    const cases: Array<[string[], RegExp | string]> = [
      [[...add, '--cron', '* * * * *'], "error: required option '--type <type>' not specified"],
      [
        [...add, '--type', 't'],
        'error: schedules add needs one of --cron <expr> or --every <duration>',
      ],
      [
        [...add, '--type', 't', '--cron', '* * * * *', '--every', '5s'],
        "error: option '--cron <expr>' cannot be used with option '--every <duration>'",
      ],
      [
        [...add, '--type', 't', '--every', '5s', '--tz', 'UTC'],
        /option '--(every <duration>|tz <zone>)' cannot be used with option '--(tz <zone>|every <duration>)'/,
      ],
      [
        [...add, '--type', 't', '--every', '5s', '--payload', '{bad'],
        /^error: invalid --payload: not JSON \(/,
      ],
      [
        [...add, '--type', 't', '--every', '5x'],
        /option '--every <duration>' argument '5x' is invalid\. not a duration/,
      ],
      [[...add, '--type', 't', '--every', '50ms'], /^error: invalid --every: .*100/],
      [[...add, '--type', 't', '--cron', 'nope'], /^error: invalid --cron: /],
      [
        [...add, '--type', 't', '--cron', '* * * * *', '--tz', 'Mars/Base'],
        'error: invalid --tz: Mars/Base is not an IANA time zone',
      ],
      [[...add, '--type', 't', '--every', '5s', '--timeout', '0'], /^error: invalid --timeout: /],
      [
        [...add, '--type', 't', '--every', '5s', '--misfire', 'never'],
        /argument 'never' is invalid\. Allowed choices are latest, all, skip/,
      ],
      [
        [...add, '--type', 't', '--every', '5s', '--priority', 'urgent'],
        /'--priority <priority>'.*must be one of critical, high, normal, low/,
      ],
      [[...add, '--type', 'Bad Type!', '--every', '5s'], /'--type <type>' argument 'Bad Type!'/],
      [
        ['schedules', 'add', 'bad name', '--type', 't', '--every', '5s'],
        /value 'bad name' is invalid for argument 'name'/,
      ],
      [['schedules', 'update', 'iv'], /^error: schedules update needs at least one of --type/],
      [
        ['schedules', 'update', 'iv', '--tz', 'Europe/Berlin'],
        'error: invalid --tz: applies to cron schedules only',
      ],
      [['schedules', 'next', 'iv', '--count', '0'], /'--count <n>' argument '0' is invalid/],
      [['schedules', 'frobnicate'], "error: unknown command 'frobnicate'"],
    ];
    const results = await twoAtATime(cases, ([argv]) => h.cli(argv));
    results.forEach((r, i) => {
      const [argv, want] = cases[i]!;
      expect(r.code, `${argv.join(' ')}: ${r.stderr}`).toBe(2);
      const first = r.stderr.split('\n')[0] ?? '';
      if (typeof want === 'string') expect(first).toContain(want);
      else expect(first).toMatch(want);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).toBe('');
    });
    expect((await q.schedules.list()).map((s) => s.schedule.name)).toEqual(['iv']);
    expect((await q.schedules.get('iv'))?.schedule.everyMs).toBe(1000);

    // With --json the error is one JSON line naming the flag.
    const j = await h.cli([
      ...add,
      '--type',
      't',
      '--cron',
      '* * * * *',
      '--tz',
      'No/Zone',
      '--json',
    ]);
    expect(j.code).toBe(2);
    expect(jsonError(j)).toEqual({
      message: 'invalid --tz: No/Zone is not an IANA time zone',
      exitCode: 2,
      field: '--tz',
    });
  });
});
