import { describe, expect, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import { connect, headers } from '@nats-io/transport-node';
import { defineWorker } from '@rfw/worker';
import { waitFor } from '@rfw/testkit';
import { useHarness, waitForState } from './helpers.js';

// Wire format v2: a job with a generated id is its message on its own
// subject, with no record until a worker or a canceller writes one; v1
// publishes (no id in the subject) work unchanged beside it.
describe('job_processing: wire format v2 beside v1', () => {
  const h = useHarness();

  it('enqueues a job as one stored message, with no record until its outcome', async () => {
    const q = await h.queue();
    const id = await q.schedule('lonely', { n: 1 }, { priority: 'high' });
    const { ctx } = q;
    expect(await ctx.records.get(id)).toBeUndefined();
    const info = await ctx.jsm.streams.info(ctx.names.jobsStream, { subjects_filter: '>' });
    expect(info.state.subjects).toEqual({ [`${h.prefix}.jobs.lonely.high.${id}`]: 1 });
    // Waiting, it is found by id and listed from its message.
    expect(await q.get(id)).toMatchObject({ id, state: 'pending', payload: { n: 1 } });
    const listed = await q.list({ status: 'pending', type: 'lonely' });
    expect(listed.jobs.map((j) => j.id)).toEqual([id]);
    expect((await q.statistics()).byType.lonely?.byPriority.high?.pending).toBe(1);

    await h.manager([defineWorker('lonely', async (p: { n: number }) => ({ got: p.n }))]);
    const done = await waitForState(q, id, ['succeeded']);
    expect(done.result).toEqual({ got: 1 });
    expect(done.history.map((t) => t.state)).toEqual(['pending', 'succeeded']);
  });

  it('runs a v1 job from a bare NATS publish and a v2 job from JobQueue on one consumer', async () => {
    const q = await h.queue();
    const ran: string[] = [];
    await h.manager([defineWorker('mixed', async (p: { from: string }) => void ran.push(p.from))]);
    const nc = await connect({ servers: h.server.url });
    try {
      const hdr = headers();
      hdr.set('Nats-Msg-Id', 'from-v1');
      await jetstream(nc).publish(`${h.prefix}.jobs.mixed.normal`, '{"from":"v1"}', {
        headers: hdr,
      });
      const v2 = await q.schedule('mixed', { from: 'v2' });
      await waitForState(q, 'from-v1', ['succeeded']);
      await waitForState(q, v2, ['succeeded']);
      expect(ran.sort()).toEqual(['v1', 'v2']);
    } finally {
      await nc.close();
    }
  });

  it('runs the jobs a v1 installation stored before the upgrade, keeping their ids', async () => {
    const q = await h.queue();
    const { ctx } = q;
    // The jobs stream as v1 provisioned it: no subject transform, so a publish
    // to `<prefix>.jobs.<type>.<priority>` is stored on that 4-token subject.
    const v2Config = (await ctx.jsm.streams.info(ctx.names.jobsStream)).config;
    await ctx.jsm.streams.update(ctx.names.jobsStream, {
      ...v2Config,
      subject_transform: undefined,
    });
    const nc = await connect({ servers: h.server.url });
    try {
      const js = jetstream(nc);
      const hdr = headers();
      hdr.set('Rfw-Job-Id', 'stored-by-v1');
      await js.publish(`${h.prefix}.jobs.legacy.normal`, '{"n":1}', { headers: hdr });
      await js.publish(`${h.prefix}.jobs.legacy.high`, '{"n":2}');
      const before = await ctx.jsm.streams.info(ctx.names.jobsStream, { subjects_filter: '>' });
      expect(Object.keys(before.state.subjects ?? {}).sort()).toEqual([
        `${h.prefix}.jobs.legacy.high`,
        `${h.prefix}.jobs.legacy.normal`,
      ]);
      const bareSeq = (await ctx.jsm.streams.getMessage(ctx.names.jobsStream, {
        last_by_subj: `${h.prefix}.jobs.legacy.high`,
      }))!.seq;
      // The upgrade: v2 provisioning puts the transform back; then a v2 worker starts.
      await h.queue();
      const ran: number[] = [];
      await h.manager([defineWorker('legacy', async (p: { n: number }) => void ran.push(p.n))]);
      await waitForState(q, 'stored-by-v1', ['succeeded']);
      // A v1 job without an id header keeps the id of its first sequence.
      await waitForState(q, `s${bareSeq}`, ['succeeded']);
      expect(ran.sort()).toEqual([1, 2]);
      const after = await ctx.jsm.streams.info(ctx.names.jobsStream, { subjects_filter: '>' });
      expect(after.state.messages).toBe(0);
    } finally {
      await nc.close();
    }
  });

  it('cancels a waiting v2 job: it ends cancelled once and never runs', async () => {
    const q = await h.queue();
    const id = await q.schedule('doomed', {});
    const cancelled = await q.cancel(id);
    expect(cancelled.state).toBe('cancelled');
    const ran: string[] = [];
    await h.manager([defineWorker('doomed', async () => void ran.push('ran'))]);
    const after = await q.schedule('doomed', {});
    await waitForState(q, after, ['succeeded']);
    expect(ran).toEqual(['ran']);
    const job = await q.get(id);
    expect(job?.history.filter((t) => t.state === 'cancelled')).toHaveLength(1);
    await expect(q.cancel(id)).resolves.toMatchObject({ state: 'cancelled' });
  });

  it('does not run a job again when a consumer made anew delivers it a second time', async () => {
    const q = await h.queue();
    const ran: string[] = [];
    let release = (): void => undefined;
    const gate = new Promise<void>((r) => (release = r));
    await h.manager([
      defineWorker('again', async (p: { tag: string }) => {
        ran.push(p.tag);
        if (p.tag === 'slow') await gate;
      }),
    ]);
    const id = await q.schedule('again', { tag: 'slow' });
    await waitFor('the job to start', () => ran.includes('slow'));
    // The consumer goes while the job runs: its ack is lost, and the consumer
    // made anew delivers the message as a first delivery.
    const { ctx } = q;
    await ctx.jsm.consumers.delete(ctx.names.jobsStream, ctx.names.consumerName('again', 'normal'));
    release();
    await waitForState(q, id, ['succeeded']);
    const next = await q.schedule('again', { tag: 'next' });
    await waitForState(q, next, ['succeeded'], 30_000);
    expect(ran).toEqual(['slow', 'next']);
  });
});
