import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager, jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { NatsServer, spawnService, waitFor, type ServiceProcess } from '@rfw/testkit';
import { encodeJson, decodeJson } from '@rfw/core/internal';
import { LeaderElection, type LeaderChange } from '@rfw/cluster';

const candidate = fileURLToPath(new URL('./fixtures/candidate.ts', import.meta.url));
const LEASE_MS = 2000;

interface Line {
  msg?: string;
  nodeId?: string;
  at?: number;
  isLeader?: boolean;
  leader?: string;
  token?: number;
  ok?: boolean;
}

function parsed(p: ServiceProcess, from = 0): Line[] {
  return p.lines.slice(from).flatMap((l) => {
    try {
      return [JSON.parse(l) as Line];
    } catch {
      return [];
    }
  });
}

describe('worker_coordination: leader election', () => {
  let server: NatsServer;
  const conns: NatsConnection[] = [];
  let n = 0;

  beforeAll(async () => {
    server = await NatsServer.start();
  });
  afterAll(async () => {
    await Promise.all(conns.map((c) => c.close()));
    await server?.stop();
  });

  async function conn(): Promise<NatsConnection> {
    const c = await connect({ servers: server.url });
    conns.push(c);
    return c;
  }

  it('elects exactly one of three, hands over fast on resign, and tokens grow', async () => {
    const prefix = `le${++n}`;
    const els = await Promise.all(
      ['a', 'b', 'c'].map(async (id) =>
        LeaderElection.create({
          connection: await conn(),
          prefix,
          role: 'scheduler',
          nodeId: id,
          leaseMs: LEASE_MS,
        }),
      ),
    );
    const changes: LeaderChange[] = [];
    els.forEach((e) => e.onChange((c) => changes.push(c)));
    await Promise.all(els.map((e) => e.start()));
    const first = await waitFor('one leader', () => els.find((e) => e.isLeader));
    expect(els.filter((e) => e.isLeader)).toHaveLength(1);
    const token1 = first.fencingToken as number;
    expect(token1).toBeGreaterThan(0);
    await waitFor('everyone knows the leader', () => els.every((e) => e.leader === first.nodeId));
    expect(els.filter((e) => e !== first).every((e) => e.fencingToken === undefined)).toBe(true);

    const resignedAt = Date.now();
    await first.stop();
    await first.stop(); // safe twice
    expect(first.isLeader).toBe(false);
    const rest = els.filter((e) => e !== first);
    const second = await waitFor('a new leader', () => rest.find((e) => e.isLeader));
    // A resigning leader deletes its lease: no need to wait for it to expire.
    expect(Date.now() - resignedAt).toBeLessThan(LEASE_MS);
    expect(rest.filter((e) => e.isLeader)).toHaveLength(1);
    expect(second.fencingToken as number).toBeGreaterThan(token1);
    expect(changes.some((c) => c.isLeader && c.leader === second.nodeId)).toBe(true);
    await Promise.all(rest.map((e) => e.stop()));
  });

  it('rejects bad options with a typed error naming the field', async () => {
    const c = await conn();
    await expect(
      LeaderElection.create({ connection: c, role: 'Bad Role', nodeId: 'x' }),
    ).rejects.toMatchObject({ name: 'ConfigError', field: 'role' });
    await expect(
      LeaderElection.create({ connection: c, role: 'r', nodeId: 'has space' }),
    ).rejects.toMatchObject({ name: 'ConfigError', field: 'nodeId' });
    await expect(
      LeaderElection.create({ connection: c, role: 'r', nodeId: 'x', leaseMs: 5 }),
    ).rejects.toMatchObject({ name: 'ConfigError', field: 'leaseMs' });
  });

  it(
    'three processes: a killed leader is replaced within the lease, and a paused one never acts after losing',
    { timeout: 240_000 },
    async () => {
      const prefix = `le${++n}`;
      const c = await conn();
      const jsm = await jetstreamManager(c);
      await jsm.streams.add({ name: `${prefix}_fence`, subjects: [`${prefix}.fence`] });
      await jetstream(c).publish(`${prefix}.fence`, encodeJson({ nodeId: 'seed', token: 0 }));

      const procs = ['p1', 'p2', 'p3'].map((id) =>
        spawnService(candidate, {
          env: {
            NATS_URL: server.url,
            RFW_PREFIX: prefix,
            NODE_ID: id,
            LEASE_MS: String(LEASE_MS),
            LOG_LEVEL: 'warn',
          },
        }),
      );
      try {
        await Promise.all(procs.map((p) => p.waitForLine(/service ready/, 120_000)));
        const leaderOf = (ps: ServiceProcess[]): ServiceProcess[] =>
          ps.filter((p) => {
            const changes = parsed(p).filter((l) => l.msg === 'leader-change');
            return changes.at(-1)?.isLeader === true;
          });
        const [first] = await waitFor('a first leader', () => {
          const l = leaderOf(procs);
          return l.length === 1 ? l : undefined;
        });
        await waitFor('an action by the first leader', () =>
          parsed(first!).some((l) => l.msg === 'action' && l.ok),
        );

        // 1. SIGKILL the leader: exactly one other takes over within the lease (plus scheduling slack).
        const killedAt = Date.now();
        await first!.kill('SIGKILL');
        const others = procs.filter((p) => p !== first);
        const [leader2] = await waitFor(
          'a second leader',
          () => {
            const l = leaderOf(others);
            return l.length ? l : undefined;
          },
          { timeoutMs: 15_000 },
        );
        const electedAfter = Date.now() - killedAt;
        expect(electedAfter).toBeLessThan(LEASE_MS + 4000);
        expect(leaderOf(others)).toHaveLength(1);
        const [follower] = others.filter((p) => p !== leader2) as [ServiceProcess];
        const okActions = (p: ServiceProcess, from = 0): number =>
          parsed(p, from).filter((l) => l.msg === 'action' && l.ok).length;
        await waitFor('an action by the second leader', () => okActions(leader2!) > 0);

        // 2. SIGSTOP the new leader until its lease expires and the follower takes over, then SIGCONT.
        leader2!.proc.kill('SIGSTOP');
        await waitFor('the follower to take over', () => leaderOf([follower]).length === 1, {
          timeoutMs: 15_000,
        });
        await waitFor('an action by the third leader', () => okActions(follower) > 0);
        const resumedFrom = leader2!.lines.length;
        leader2!.proc.kill('SIGCONT');
        await waitFor('the resumed leader to step down', () =>
          parsed(leader2!, resumedFrom).some((l) => l.msg === 'leader-change' && !l.isLeader),
        );
        // Give the resumed process time to misbehave: several of the follower's action periods.
        const actionsBefore = okActions(follower);
        await waitFor(
          'more actions by the new leader',
          () => okActions(follower) >= actionsBefore + 5,
        );
        const afterResume = parsed(leader2!, resumedFrom);
        expect(afterResume.filter((l) => l.msg === 'action' && l.ok)).toEqual([]);
        expect(afterResume.some((l) => l.msg === 'leader-change' && l.isLeader)).toBe(false);

        // The fenced resource saw tokens only grow.
        const tokens: number[] = [];
        const info = await jsm.streams.info(`${prefix}_fence`);
        for (let seq = 1; seq <= info.state.last_seq; seq++) {
          const m = await jsm.streams.getMessage(`${prefix}_fence`, { seq });
          if (m) tokens.push(decodeJson<{ token: number }>(m.data).token);
        }
        expect(tokens.length).toBeGreaterThan(3);
        expect(tokens).toEqual([...tokens].sort((a, b) => a - b));
        expect(new Set(tokens).size).toBeGreaterThanOrEqual(4); // seed + three terms
      } finally {
        for (const p of procs) p.proc.kill('SIGCONT');
        await Promise.all(procs.map((p) => p.kill('SIGKILL')));
      }
    },
  );
});
