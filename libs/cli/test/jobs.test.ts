import { describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { encodeJson, JobQueue, Names, type Job, type Statistics } from '@rfw/core/internal';
import { waitFor } from '@rfw/testkit';
import { defineWorker, liveNodes, NonRetryableError, openNodesBucket } from '@rfw/worker/internal';
import { useHarness, waitForState } from './helpers.js';

// Generous timeouts: each test runs the CLI several times, and the machine is shared.
describe('integration: rfw jobs, dlq, stats, pause and nodes', { timeout: 180_000 }, () => {
  const h = useHarness();

  it('schedules, gets, lists, cancels and retries jobs', async () => {
    const q = await h.queue();
    const s = await h.cli([
      'jobs',
      'schedule',
      'report',
      '{"month":"2024-05"}',
      '--priority',
      'low',
      '--delay',
      '1h',
      '--max-retries',
      '5',
    ]);
    expect(s.code, s.stderr).toBe(0);
    const id = s.stdout.trim();
    expect(await q.get(id)).toMatchObject({
      type: 'report',
      priority: 'low',
      state: 'delayed',
      maxRetries: 5,
      payload: { month: '2024-05' },
    });

    const [get, getJson, list, listJson] = await Promise.all([
      h.cli(['jobs', 'get', id]),
      h.cli(['jobs', 'get', id, '--json']),
      h.cli(['jobs', 'list', '--status', 'delayed']),
      h.cli(['jobs', 'list', '--type', 'report', '--json']),
    ]);
    expect(get.code).toBe(0);
    expect(get.stdout).toMatch(/^state:\s+delayed$/m);
    expect(get.stdout).toMatch(/^payload:\s+\{"month":"2024-05"\}$/m);
    expect(get.stdout).toMatch(/^history:$/m);
    expect((JSON.parse(getJson.stdout) as Job).id).toBe(id);
    expect(list.stdout).toMatch(/^ID\s+TYPE\s+PRIORITY\s+STATE/);
    expect(list.stdout).toMatch(new RegExp(`^${id}\\s+report\\s+low\\s+delayed\\s+0/6`, 'm'));
    expect((JSON.parse(listJson.stdout) as { jobs: Job[] }).jobs.map((j) => j.id)).toEqual([id]);

    const cancel = await h.cli(['jobs', 'cancel', id]);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout.trim()).toBe(`${id} cancelled`);
    expect((await q.get(id))?.state).toBe('cancelled');

    const retry = await h.cli(['jobs', 'retry', id, '--json']);
    expect(retry.code, retry.stderr).toBe(0);
    expect((JSON.parse(retry.stdout) as Job).state).toBe('pending');

    // A finished job cannot be cancelled; an unknown one is not found: both exit 1.
    const [again, missing] = await Promise.all([
      h.cli(['jobs', 'retry', id]),
      h.cli(['jobs', 'get', 'no-such-job']),
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/cannot retry job .* it is pending/);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/job not found: no-such-job/);
  });

  it('schedule --wait follows a job to success; the payload can come from stdin', async () => {
    await h.manager([defineWorker('double', async (p: { n: number }) => ({ doubled: p.n * 2 }))]);
    const r = await h.cli(['jobs', 'schedule', 'double', '-', '--wait'], { input: '{"n":21}' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/double job \w+ succeeded in/);
    expect(r.stdout).toMatch(/^doubled:\s+42$/m);
  });

  it('lists, retries and purges dead letters', async () => {
    let fixed = false;
    await h.manager([
      defineWorker('fragile', async () => {
        if (!fixed) throw new NonRetryableError('disk on fire');
        return 'ok';
      }),
    ]);
    const q = await h.queue();
    const a = await q.schedule('fragile', { n: 1 });
    const b = await q.schedule('fragile', { n: 2 });
    await waitForState(q, a, ['dead']);
    await waitForState(q, b, ['dead']);

    const [list, listJson] = await Promise.all([
      h.cli(['dlq', 'list']),
      h.cli(['dlq', 'list', '--type', 'fragile', '--json']),
    ]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^ID\s+TYPE\s+ATTEMPTS\s+DIED\s+REASON/);
    expect(list.stdout).toMatch(new RegExp(`^${a}\\s+fragile\\s+1\\s`, 'm'));
    const page = JSON.parse(listJson.stdout) as {
      deadLetters: Array<{ id: string; lastError: string }>;
    };
    expect(page.deadLetters.map((d) => d.id).sort()).toEqual([a, b].sort());
    expect(page.deadLetters[0]?.lastError).toBe('disk on fire');

    fixed = true;
    const retry = await h.cli(['dlq', 'retry', a]);
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stdout.trim()).toBe(`${a} pending`);
    await waitForState(q, a, ['succeeded']);

    const purge = await h.cli(['dlq', 'purge', '--type', 'fragile', '--json']);
    expect(purge.code, purge.stderr).toBe(0);
    expect(JSON.parse(purge.stdout)).toEqual({ purged: 1 });
    const empty = await h.cli(['dlq', 'list']);
    expect(empty.stdout.trim()).toBe('(no dead letters)');
  });

  it('stats --json, pause and resume', async () => {
    const q = await h.queue();
    await q.schedule('thumbs', {}, { priority: 'high' });
    await q.schedule('thumbs', {});
    await q.schedule('mail', {}, { delay: 3_600_000 });

    const pause = await h.cli(['pause', 'thumbs', '--by', 'ops-test']);
    expect(pause.code, pause.stderr).toBe(0);
    expect(pause.stdout.trim()).toBe('thumbs paused');
    expect(await q.pausedTypes()).toEqual(['thumbs']);

    const [statsJson, statsTable, paused] = await Promise.all([
      h.cli(['stats', '--json']),
      h.cli(['stats']),
      h.cli(['paused']),
    ]);
    expect(statsJson.code, statsJson.stderr).toBe(0);
    const stats = JSON.parse(statsJson.stdout) as Statistics & { paused: string[] };
    expect(stats.paused).toEqual(['thumbs']);
    expect(stats.byType.thumbs?.total.pending).toBe(2);
    expect(stats.byType.thumbs?.byPriority.high?.pending).toBe(1);
    expect(stats.byType.mail?.total.delayed).toBe(1);
    expect(stats.total.pending).toBe(2);
    expect(statsTable.stdout).toMatch(/^TYPE\s+PENDING\s+DELAYED/);
    expect(statsTable.stdout).toMatch(/^thumbs\s+2\s+0\s.*paused$/m);
    expect(statsTable.stdout).toMatch(/^mail\s+0\s+1\s.*active$/m);
    expect(paused.stdout.trim()).toBe('thumbs');

    const resume = await h.cli(['resume', 'thumbs', '--json']);
    expect(resume.code, resume.stderr).toBe(0);
    expect(JSON.parse(resume.stdout)).toEqual({ type: 'thumbs', paused: false });
    expect(await q.pausedTypes()).toEqual([]);
  });

  it('nodes lists live workers and the leader leases', async () => {
    const m = await h.manager([defineWorker('thumbs', async () => 'ok')]);
    const nc = await connect({ servers: h.server.url });
    try {
      const leader = await new Kvm(nc).create(new Names(h.prefix).leaderBucket);
      const now = Date.now();
      await leader.put(
        'scheduler',
        encodeJson({
          v: 1,
          role: 'scheduler',
          holder: 'node-a',
          leaseId: 'x1',
          leaseMs: 600_000,
          acquiredAt: now - 3_600_000,
          renewedAt: now,
          expiresAt: now + 600_000,
        }),
      );
      await waitFor('the heartbeat', async () =>
        (await liveNodes(await openNodesBucket(m.core))).some((n) => n.nodeId === m.workerId),
      );
      const [table, json] = await Promise.all([h.cli(['nodes']), h.cli(['nodes', '--json'])]);
      expect(table.code, table.stderr).toBe(0);
      expect(table.stdout).toMatch(
        new RegExp(`^${m.workerId}\\s+\\S+\\s+\\d+\\s+thumbs\\s+0/10`, 'm'),
      );
      expect(table.stdout).toMatch(/^scheduler\s+node-a\s+1h ago\s+\d+[sm] ago\s+in \d+m/m);
      const body = JSON.parse(json.stdout) as {
        leaders: Array<{ role: string; holder: string; value: { leaseId: string } }>;
      };
      expect(body.leaders).toEqual([
        expect.objectContaining({
          role: 'scheduler',
          holder: 'node-a',
          value: expect.objectContaining({ leaseId: 'x1' }),
        }),
      ]);
    } finally {
      await nc.close();
    }
  });

  it('never rewrites the settings of an existing installation', async () => {
    // An installation provisioned with non-default settings by its services.
    const q = await JobQueue.connect({
      servers: h.server.url,
      prefix: h.prefix,
      provision: { eventsMaxAgeMs: 3_600_000, maxQueuedJobs: 1000 },
    });
    h.defer(() => q.close());
    const r = await h.cli(['stats']);
    expect(r.code, r.stderr).toBe(0);
    const jsm = await jetstreamManager(q.ctx.nc);
    const names = new Names(h.prefix);
    expect((await jsm.streams.info(names.eventsStream)).config.max_age).toBe(3_600_000 * 1e6);
    expect((await jsm.streams.info(names.jobsStream)).config.max_msgs).toBe(1000);
  });
});
