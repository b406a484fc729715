import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor } from '@rfw/testkit';
import { defineWorker, NonRetryableError } from '@rfw/worker';
import { scratchDir, useHarness } from './helpers.js';

describe('integration: rfw flow add and show', { timeout: 180_000 }, () => {
  const h = useHarness();

  it('adds a flow from a file, runs it, and shows its summary and failed children', async () => {
    const q = await h.queue();
    await h.manager([
      defineWorker('cli-leaf', async (p: { n: number }) => {
        if (p.n < 0) throw new NonRetryableError(`negative ${p.n}`);
        return p.n;
      }),
      defineWorker('cli-sum', async () => 'summed'),
    ]);
    const children = Array.from({ length: 5 }, (_, i) => ({
      type: 'cli-leaf',
      payload: { n: i < 2 ? -i - 1 : i },
      onFailure: 'continue',
      options: { maxRetries: 0 },
    }));
    const file = join(scratchDir, 'flow.json');
    writeFileSync(
      file,
      JSON.stringify({ type: 'cli-sum', payload: {}, options: { id: 'cli-flow-1' }, children }),
    );
    const add = await h.cli(['flow', 'add', '--file', file]);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout.trim()).toBe('cli-flow-1');
    expect(add.stderr).toMatch(/enqueued flow cli-flow-1 \(cli-sum\): 5 children, 6 jobs/);

    await waitFor(
      'the parent succeeded',
      async () => (await q.get('cli-flow-1'))?.state === 'succeeded',
    );
    const show = await h.cli(['flow', 'show', 'cli-flow-1']);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/^state:\s+succeeded$/m);
    expect(show.stdout).toMatch(/^children:\s+5$/m);
    expect(show.stdout).toMatch(/^succeeded:\s+3$/m);
    expect(show.stdout).toMatch(/^dead:\s+2$/m);
    expect(show.stdout).toMatch(/^cancelled:\s+0$/m);
    expect(show.stdout).toMatch(/^pending:\s+0$/m);
    expect(show.stdout).toMatch(/^progress:\s+\[#{30}\] 100% \(5\/5 ended\)$/m);
    expect(show.stdout).toMatch(/^failed children \(2\):$/m);
    expect(show.stdout).toMatch(/^ID\s+TYPE\s+STATE\s+ON FAILURE\s+ERROR$/m);
    expect(show.stdout).toMatch(/^cli-flow-1-\d+\s+cli-leaf\s+dead\s+continue\s+negative -\d+$/m);
    expect(show.stdout.match(/^cli-flow-1-[01] /gm)?.length).toBe(2);
    expect(show.stdout).not.toMatch(/more$/m);

    const json = await h.cli(['flow', 'show', 'cli-flow-1', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const doc = JSON.parse(json.stdout) as {
      state: string;
      flow: Record<string, number>;
      failed: Array<{ id: string; error: string }>;
    };
    expect(doc).toMatchObject({
      state: 'succeeded',
      flow: { children: 5, succeeded: 3, dead: 2, cancelled: 0, pending: 0 },
    });
    expect(doc.failed.map((f) => [f.id, f.error]).sort()).toEqual([
      ['cli-flow-1-0', 'negative -1'],
      ['cli-flow-1-1', 'negative -2'],
    ]);

    // The same root id again: a duplicate, from stdin, as JSON.
    const again = await h.cli(['flow', 'add', '--file', '-', '--json'], {
      input: JSON.stringify({ type: 'cli-sum', options: { id: 'cli-flow-1' }, children }),
    });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({
      id: 'cli-flow-1',
      type: 'cli-sum',
      children: 5,
      jobs: 6,
      duplicate: true,
    });
  });

  it('shows a waiting flow, its cancelled children (20 listed), and names bad input', async () => {
    const add = await h.cli(['flow', 'add', '--file', '-'], {
      input: JSON.stringify({
        type: 'nobody-runs-this',
        children: Array.from({ length: 22 }, () => ({ type: 'nobody-either' })),
      }),
    });
    expect(add.code, add.stderr).toBe(0);
    const id = add.stdout.trim();
    const show = await h.cli(['flow', 'show', id]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/^state:\s+waiting$/m);
    expect(show.stdout).toMatch(/^pending:\s+22$/m);
    expect(show.stdout).toMatch(/^progress:\s+\[-{30}\] 0% \(0\/22 ended\)$/m);
    expect(show.stdout).not.toMatch(/failed children/);

    // Cancelling the waiting parent cancels its children.
    const cancel = await h.cli(['jobs', 'cancel', id]);
    expect(cancel.code, cancel.stderr).toBe(0);
    const q = await h.queue();
    await waitFor('22 children cancelled', async () => (await q.get(id))?.flow?.cancelled === 22);
    const after = await h.cli(['flow', 'show', id]);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toMatch(/^state:\s+cancelled$/m);
    expect(after.stdout).toMatch(/^cancelled:\s+22$/m);
    expect(after.stdout).toMatch(/^progress:\s+\[#{30}\] 100% \(22\/22 ended\)$/m);
    expect(after.stdout).toMatch(/^failed children \(22\):$/m);
    expect(
      after.stdout.match(new RegExp(`^${id}-\\d+\\s+nobody-either\\s+cancelled\\s+fail`, 'gm'))
        ?.length,
    ).toBe(20);
    expect(after.stdout).toMatch(/^and 2 more$/m);

    const child = await h.cli(['flow', 'show', `${id}-0`]);
    expect(child.code).toBe(1);
    expect(child.stderr).toMatch(
      new RegExp(`is not a flow's parent \\(cancelled, a child of ${id}\\)`),
    );
    const missing = await h.cli(['flow', 'show', 'no-such-flow']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/job not found: no-such-flow/);

    const bad: Array<[string, RegExp]> = [
      ['{bad', /invalid --file: not JSON/],
      ['[]', /invalid --file: a flow is a JSON object/],
      [
        JSON.stringify({
          type: 'p',
          children: [{ type: 'x' }, { type: 'x', options: { priority: 'urgent' } }],
        }),
        /invalid --file children\[1\]\.options\.priority: /,
      ],
      [
        JSON.stringify({ type: 'p', children: [{ type: 'x', onFailure: 'explode' }] }),
        /invalid --file children\[0\]\.onFailure: /,
      ],
      [JSON.stringify({ type: 'bad type!' }), /invalid --file type: /],
    ];
    for (const [input, re] of bad) {
      const r = await h.cli(['flow', 'add', '--file', '-'], { input });
      expect(r.code, input).toBe(2);
      expect(r.stderr, input).toMatch(re);
    }
    const none = await h.cli(['flow', 'add', '--file', join(scratchDir, 'missing.json')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/invalid --file: ENOENT/);
    const noFlag = await h.cli(['flow', 'add']);
    expect(noFlag.code).toBe(2);
    expect(noFlag.stderr).toMatch(/--file <path>/);
    const badId = await h.cli(['flow', 'show', 'bad id!']);
    expect(badId.code).toBe(2);
  });
});
