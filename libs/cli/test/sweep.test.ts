import { describe, expect, it } from 'vitest';
import { defineWorker, NonRetryableError } from '@rfw/worker';
import { useHarness, waitForState } from './helpers.js';

interface Seen {
  payload: unknown;
  priority: string;
}

describe('integration: rfw heal and resync follow a sweep to its end', { timeout: 120_000 }, () => {
  const h = useHarness();

  /** A `healing` worker that reports `steps` progress events, then returns counts. */
  function healingWorker(seen: Seen[], steps = 5, fail = false) {
    return defineWorker('healing', async (payload: unknown, ctx) => {
      seen.push({ payload, priority: ctx.job.priority });
      for (let i = 1; i <= steps; i++) {
        // Spaced past the runtime's 200 ms progress throttle so each one is published.
        await new Promise((r) => setTimeout(r, 250));
        ctx.progress({ done: i, total: steps, message: `object ${i}` });
      }
      if (fail) throw new NonRetryableError('replica quorum lost on node-b');
      return { scanned: steps, healed: 2, dryRun: false };
    });
  }

  it('heal schedules a high-priority healing job, shows the progress bar, exits 0 on success', async () => {
    const seen: Seen[] = [];
    await h.manager([healingWorker(seen)]);
    const r = await h.cli([
      'heal',
      '--bucket',
      'photos',
      '--prefix',
      '2024/',
      '--deep',
      '--dry-run',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(seen).toEqual([
      {
        payload: {
          scope: 'prefix',
          bucket: 'photos',
          prefix: '2024/',
          deep: true,
          dryRun: true,
          removeDangling: false,
        },
        priority: 'high',
      },
    ]);
    // The bar's last line: full bar, 100%, done/total, final state.
    expect(r.stderr).toMatch(/succeeded \[=+\] 100% \| 5\/5 \|/);
    expect(r.stderr).toMatch(/healing \(prefix, dry run\) job \w+ scheduled \(high\)/);
    expect(r.stdout).toMatch(/healing \(prefix, dry run\) \w+ succeeded in/);
    expect(r.stdout).toMatch(/scanned:\s+5/);
    expect(r.stdout).toMatch(/healed:\s+2/);
  });

  it('heal exits 1 and says why when the healing job dies', async () => {
    const seen: Seen[] = [];
    await h.manager([healingWorker(seen, 2, true)]);
    const r = await h.cli(['heal', '--bucket', 'photos', '--key', 'a/b.jpg', '--remove-dangling']);
    expect(r.code, r.stderr).toBe(1);
    expect(seen[0]?.payload).toEqual({
      scope: 'object',
      bucket: 'photos',
      key: 'a/b.jpg',
      deep: false,
      dryRun: false,
      removeDangling: true,
    });
    expect(r.stdout).toMatch(/is dead after 1 attempt\(s\): .*: replica quorum lost on node-b/);
    expect(r.stdout).toMatch(/rfw jobs retry \w+/);
    expect(r.stderr).toMatch(/dead \[/);
  });

  it('Ctrl-C stops following with exit 130; the healing job goes on', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let started!: (id: string) => void;
    const running = new Promise<string>((r) => (started = r));
    await h.manager([
      defineWorker('healing', async (_p: unknown, ctx) => {
        ctx.progress({ done: 1, total: 4 });
        started(ctx.jobId);
        await released;
        return { healed: 0 };
      }),
    ]);
    const q = await h.queue();
    const cli = h.start(['heal', '--bucket', 'photos']);
    const id = await running;
    await cli.waitFor('stderr', /scheduled \(high\)/);
    cli.proc.kill('SIGINT');
    const r = await cli.done;
    expect(r.code).toBe(130);
    expect(r.stderr).toContain(
      `stopped following healing (bucket); it goes on: see rfw jobs get ${id}`,
    );
    release();
    await waitForState(q, id, ['succeeded']);
  });

  it('resync schedules replication-resync and prints the final job with --json', async () => {
    const payloads: unknown[] = [];
    await h.manager([
      defineWorker('replication-resync', async (p: unknown, ctx) => {
        payloads.push(p);
        ctx.progress({ done: 3, total: 3 });
        return { copied: 3 };
      }),
    ]);
    const r = await h.cli(['resync', '--bucket', 'logs', '--prefix', 'app/', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(payloads).toEqual([{ bucket: 'logs', prefix: 'app/' }]);
    const job = JSON.parse(r.stdout) as { state: string; type: string; result: unknown };
    expect(job).toMatchObject({
      state: 'succeeded',
      type: 'replication-resync',
      result: { copied: 3 },
    });
    // No progress bar in JSON mode.
    expect(r.stderr).not.toMatch(/\[=+/);
  });

  it('heal --detach returns the id at once; node scope needs no bucket', async () => {
    const q = await h.queue();
    const r = await h.cli(['heal', '--node', 'node-3', '--detach']);
    expect(r.code, r.stderr).toBe(0);
    const job = await q.get(r.stdout.trim());
    expect(job).toMatchObject({
      type: 'healing',
      priority: 'high',
      state: 'pending',
      payload: { scope: 'node', node: 'node-3' },
    });
  });

  it('tail prints live events of the installation until Ctrl-C', async () => {
    await h.manager([
      defineWorker('echo', async (_p: unknown, ctx) => {
        ctx.progress({ done: 1, total: 1, message: 'half' });
        return 'ok';
      }),
    ]);
    const q = await h.queue();
    const tail = h.start(['tail']);
    await tail.waitFor('stderr', /listening on \w+\.events\.>/);
    const id = await q.schedule('echo', {});
    await tail.waitFor('stdout', new RegExp(`succeeded\\s+echo/normal\\s+${id}`));
    tail.proc.kill('SIGINT');
    const r = await tail.done;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`pending\\s+echo/normal\\s+${id}`));
    expect(r.stdout).toMatch(
      new RegExp(`progress\\s+echo/normal\\s+${id}\\s+attempt=1 .*progress=1/1 "half"`),
    );
  });

  it('tail --json --count prints events as JSON lines and stops by itself', async () => {
    const q = await h.queue();
    const tail = h.start(['tail', '--type', 'solo', '--json', '--count', '2']);
    await tail.waitFor('stderr', /listening on \w+\.events\.solo\.\*\.\*/);
    const a = await q.schedule('solo', {});
    await q.schedule('other', {});
    const b = await q.schedule('solo', {}, { priority: 'low' });
    const r = await tail.done;
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; state: string; priority: string });
    expect(events.map((e) => [e.id, e.state, e.priority])).toEqual([
      [a, 'pending', 'normal'],
      [b, 'pending', 'low'],
    ]);
  });
});
