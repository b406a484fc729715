/**
 * Scenario 3: a 3-node NATS cluster with every stream and bucket replicated
 * (R3). Under load, SIGKILL the node leading the jobs stream, bring it back a
 * few seconds later, then do the same to the node leading the job records
 * bucket while the backlog drains. Nothing accepted may be lost, no job may
 * end twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue } from '@rfw/core';
import { NatsCluster, waitFor, type NatsServer } from '@rfw/testkit';
import { unsettledMessages } from './support/ledger.js';
import { removeScratch, scratchDir } from './support/paths.js';
import { writeReport } from './support/report.js';
import { serverHasClusteredCasBug } from './support/server-version.js';
import { countMix, execLogIn, mixReport, progress, runMix } from './support/scenario.js';
import { WorkerPool } from './support/worker-pool.js';

const JOBS = Number(process.env.CHAOS_JOBS ?? 2000);
/** How long a node stays down, ms (the fault itself, not a wait for an event). */
const DOWN_MS = 3000;

describe('distributed: chaos: NATS cluster node loss with R3 streams', () => {
  let cluster: NatsCluster;
  let queue: JobQueue | undefined;
  let pool: WorkerPool | undefined;

  beforeAll(async () => {
    cluster = await NatsCluster.start(3);
  });
  afterAll(async () => {
    await pool?.stopAll(5000);
    await queue?.close();
    await cluster?.stop();
    removeScratch();
  });

  it('loses nothing and ends every job exactly once when a node dies and returns', async () => {
    const started = Date.now();
    const prefix = 'chaos3';
    const dir = scratchDir('cluster');
    const execLog = execLogIn(dir);
    // The servers are up before their JetStream cluster has formed: provisioning
    // R3 streams fails with "no suitable peers" until all three peers are known.
    queue = await waitFor(
      'the JetStream cluster to accept R3 streams',
      () => JobQueue.connect({ servers: cluster.urls, prefix, provision: { replicas: 3 } }),
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    pool = new WorkerPool({
      servers: cluster.urls,
      prefix,
      execLog,
      replicas: 3,
      concurrency: 16,
    });
    await pool.start(2);

    const leaderOf = async (stream: string): Promise<NatsServer> => {
      const name = await waitFor(`a leader for ${stream}`, async () => {
        const info = await queue!.ctx.jsm.streams.info(stream);
        return info.cluster?.leader;
      });
      const node = cluster.servers.find((s) => s.log.includes(`server_name: ${name}`));
      return node ?? (cluster.servers[Number(name.replace(/\D/g, '')) - 1] as NatsServer);
    };
    const outages: Array<{ stream: string; node: string; downMs: number; restartMs: number }> = [];
    const loseNode = async (stream: string): Promise<void> => {
      const node = await leaderOf(stream);
      const t0 = Date.now();
      await node.kill();
      await new Promise((r) => setTimeout(r, DOWN_MS));
      const t1 = Date.now();
      await node.restart();
      outages.push({
        stream,
        node: `n${cluster.servers.indexOf(node) + 1}`,
        downMs: Date.now() - t0,
        restartMs: Date.now() - t1,
      });
    };

    let accepted = 0;
    const stopProgress = progress('chaos3', queue, () => `accepted=${accepted}`);
    const first = waitFor('a third of the jobs accepted', () => accepted >= JOBS / 3, {
      timeoutMs: 240_000,
      intervalMs: 50,
    }).then(() => loseNode(queue!.ctx.names.jobsStream));
    const run = await runMix(queue, {
      count: JOBS,
      idPrefix: 'j',
      concurrency: 64,
      onAccepted: () => accepted++,
    });
    await first;
    await waitFor('the cluster to answer', () => unsettledMessages(queue!.ctx).then(() => true), {
      timeoutMs: 30_000,
    });
    await loseNode(`KV_${queue.ctx.names.jobsBucket}`);

    const counted = await countMix(queue, run, execLog, 120_000);
    stopProgress();
    const report = mixReport({
      id: '3-cluster-node-loss',
      title: `3-node cluster, R3: SIGKILL the jobs-stream leader, then the records-bucket leader (2 workers, ${JOBS} jobs)`,
      started,
      counted,
      run,
      faults: { nodeKills: outages.length },
      crashes: pool.crashes.length,
      extra: { outages },
    });
    writeReport(report);

    expect(pool.crashes, JSON.stringify(pool.crashes)).toEqual([]);
    expect(run.produced.abandoned).toEqual([]);
    expect(report.jobsScheduled).toBe(JOBS);
    // nats-server before 2.9.20 can, across a leader change of a replicated KV
    // bucket, let two compare-and-set writers both win (nats-server #4320, fixed
    // by #4319); on 2.9.10 this scenario also saw acknowledged KV writes vanish
    // after the bucket's leader was killed (F2 in docs/reliability.md). On a
    // fixed server every invariant is asserted. On an affected one, what those
    // faults explain is reported and the rest asserted: a job that never ran and
    // has no outcome still fails the scenario, as does any other wrong outcome.
    if (!serverHasClusteredCasBug()) {
      expect(counted.lost, JSON.stringify(counted.examples)).toBe(0);
      expect(counted.multipleTerminal, JSON.stringify(counted.examples)).toBe(0);
      expect(counted.wrongOutcome, JSON.stringify(counted.examples)).toBe(0);
    } else {
      const ex = JSON.stringify(counted.examples);
      expect(counted.lost - (counted.lostAfterRun ?? 0), ex).toBe(0);
      expect(counted.wrongOutcome - (counted.wrongOutcomeCancelLost ?? 0), ex).toBe(0);
    }
    expect(counted.drained).toBe(true);
    expect(outages).toHaveLength(2);
  }, 300_000);
});
