/**
 * Scenario 7: storage faults under the replication service. Three file nodes;
 * while replication jobs copy objects from n1, n3's directory is removed
 * mid-copy, then n2's is made read-only mid-copy (see support/dir-faults.ts
 * for how, as root). Each attempt that hits the broken node must fail cleanly
 * and be retried (or deferred), the node's circuit breaker must open, no
 * partial object may ever be visible on a target, and once the nodes are back
 * every job must succeed exactly once with verified copies.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue, decodeJson, type JobEvent } from '@rfw/core/internal';
import { FileObjectStore } from '@rfw/storage';
import { NatsServer, spawnService, waitFor, type ServiceProcess } from '@rfw/testkit';
import { breakDir, type DirFault } from './support/dir-faults.js';
import { readRecords, readTerminalEvents, waitForDrain } from './support/ledger.js';
import { repoRoot, removeScratch, scratchDir } from './support/paths.js';
import { tally, writeReport } from './support/report.js';

const BUCKET = 'data';
const OBJECTS = 16;
const SIZE = 512 * 1024;

describe('integration: chaos: storage node directory lost or read-only mid-job', () => {
  let server: NatsServer;
  let svc: ServiceProcess | undefined;
  let queue: JobQueue | undefined;
  let dir = '';
  const faults: DirFault[] = [];
  const stores = new Map<string, FileObjectStore>();

  beforeAll(async () => {
    server = await NatsServer.start();
  });
  afterAll(async () => {
    for (const f of faults.splice(0)) await f.restore().catch(() => undefined);
    await svc?.kill('SIGTERM');
    await queue?.close();
    await Promise.all([...stores.values()].map((s) => s.close()));
    await server?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
    removeScratch();
  });

  it('fails attempts cleanly, opens the breaker, never shows a partial object, loses nothing', async () => {
    const started = Date.now();
    const prefix = 'chaos7';
    dir = scratchDir('storage');
    const root = (n: string): string => path.join(dir, n);
    for (const n of ['n1', 'n2', 'n3']) {
      const s = new FileObjectStore({ id: n, root: root(n), createRoot: true, fsync: false });
      await s.createBucket(BUCKET);
      stores.set(n, s);
    }
    const store = (n: string): FileObjectStore => stores.get(n) as FileObjectStore;
    const source = new Map<string, string>();
    for (let i = 0; i < OBJECTS; i++) {
      const info = await store('n1').put(BUCKET, `obj-${i}.bin`, randomBytes(SIZE));
      source.set(info.key, info.sha256);
    }
    const topologyFile = path.join(dir, 'topology.json');
    await fs.writeFile(
      topologyFile,
      JSON.stringify({
        nodes: ['n1', 'n2', 'n3'].map((id) => ({
          id,
          driver: 'file',
          options: { root: root(id), fsync: false },
        })),
        buckets: [{ name: BUCKET, nodes: ['n1', 'n2', 'n3'] }],
      }),
    );
    queue = await JobQueue.connect({ servers: server.url, prefix });
    const events: JobEvent[] = [];
    const breaker: Array<{ key: string; state: string }> = [];
    queue.ctx.nc.subscribe(`${prefix}.events.replication.>`, {
      callback: (_err, msg) => {
        const ev = decodeJson<JobEvent & { key?: string }>(msg.data);
        if (msg.subject.endsWith('.breaker')) breaker.push(ev as never);
        else events.push(ev);
      },
    });
    svc = spawnService(`${repoRoot}services/worker-replication/src/main.ts`, {
      env: {
        NATS_URL: server.url,
        RFW_PREFIX: prefix,
        TOPOLOGY_FILE: topologyFile,
        HTTP_PORT: '0',
        LOG_LEVEL: 'info',
        ACK_WAIT_MS: '2000',
        BREAKER_VOLUME_THRESHOLD: '2',
        BREAKER_RESET_MS: '1500',
        REPLICATION_DEFER_MS: '300',
        REPLICATION_CONCURRENCY: '4',
        // 2 MB/s: a 512 KiB copy takes about a quarter of a second, long enough to break it.
        REPLICATION_BANDWIDTH_BPS: '2000000',
      },
    });
    await svc.waitForLine((l) => l.includes('"msg":"service ready"'), 120_000);

    // Watch the targets the whole time: a visible object must be complete.
    const verified = new Set<string>();
    const partial: string[] = [];
    let checks = 0;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        for (const n of ['n2', 'n3']) {
          let listed;
          try {
            listed = await store(n).list({ bucket: BUCKET });
          } catch {
            continue; // the node is broken right now: nothing is visible
          }
          for (const o of listed.objects) {
            const tag = `${n}/${o.key}/${o.versionId}`;
            if (verified.has(tag)) continue;
            checks++;
            const v = await store(n)
              .verify(BUCKET, o.key, { deep: true })
              .catch(() => undefined);
            if (!v) continue;
            if (v.status !== 'ok' || o.sha256 !== source.get(o.key)) {
              partial.push(`${tag}: ${v.status} sha ${o.sha256.slice(0, 12)}`);
            } else verified.add(tag);
          }
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    /** A copy into `node` is in flight when its temp area holds a file. */
    const copying = (node: string): boolean => {
      const tmp = path.join(root(node), '.rfw-tmp');
      return existsSync(tmp) && readdirSync(tmp).length > 0;
    };
    const schedule = (from: number, to: number): Promise<string[]> =>
      Promise.all(
        Array.from({ length: to - from }, (_, k) =>
          queue!.schedule(
            'replication',
            { bucket: BUCKET, key: `obj-${from + k}.bin` },
            { id: `repl-${from + k}`, maxRetries: 10 },
          ),
        ),
      );
    const applied: Array<{ node: string; kind: string; brokenMs: number; breakerOpened: boolean }> =
      [];
    const breakMidCopy = async (node: string, kind: 'removed' | 'read-only'): Promise<void> => {
      await waitFor(`a copy into ${node} in flight`, () => copying(node), {
        timeoutMs: 60_000,
        intervalMs: 5,
      });
      const t = Date.now();
      const fault = await breakDir(root(node), kind);
      faults.push(fault);
      const opened = await waitFor(
        `the ${node} breaker to open`,
        () => breaker.some((b) => b.key === node && b.state === 'open'),
        { timeoutMs: 30_000 },
      ).catch(() => false);
      await fault.restore();
      faults.splice(faults.indexOf(fault), 1);
      applied.push({ node, kind: fault.kind, brokenMs: Date.now() - t, breakerOpened: !!opened });
    };

    const half = OBJECTS / 2;
    const ids = await schedule(0, half);
    await breakMidCopy('n3', 'removed');
    ids.push(...(await schedule(half, OBJECTS)));
    await breakMidCopy('n2', 'read-only');

    await waitFor(
      'every replication job to finish',
      async () => {
        const recs = await readRecords(queue!, ids);
        return [...recs.values()].every((j) => j && ['succeeded', 'dead'].includes(j.state));
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    ).catch(() => undefined);
    const drained = await waitForDrain(queue.ctx, 30_000);
    watching = false;
    await watcher;

    // Final state: every target holds a complete copy of every object.
    const incomplete: string[] = [];
    for (const n of ['n2', 'n3']) {
      for (const [key, sha] of source) {
        const v = await store(n).verify(BUCKET, key, { deep: true });
        if (v.status !== 'ok' || v.info?.sha256 !== sha)
          incomplete.push(`${n}/${key}: ${v.status}`);
      }
    }
    const records = await readRecords(queue, ids);
    const t = tally({
      ids,
      records,
      executions: new Map(),
      events: await readTerminalEvents(queue.ctx),
      expected: () => 'succeeded',
      planned: () => 1,
    });
    const failedAttempts = events.filter((e) => e.state === 'retrying').length;
    const deferrals = events.filter((e) => e.state === 'deferred').length;
    const deferralReasons: Record<string, number> = {};
    for (const e of events.filter((x) => x.state === 'deferred')) {
      const r = (e.reason ?? '?').replace(/\d+/g, '#').slice(0, 60);
      deferralReasons[r] = (deferralReasons[r] ?? 0) + 1;
    }
    const report = {
      id: '7-storage-faults',
      title: `Replication of ${OBJECTS} objects (512 KiB): n3's directory removed mid-copy, then n2's made read-only mid-copy`,
      finishedAt: new Date().toISOString(),
      durationMs: Date.now() - started,
      ...t,
      executions: [...records.values()].reduce((a, j) => a + (j?.attempts ?? 0), 0),
      faults: { dirFaults: applied.length },
      producerErrors: {},
      crashes: svc.proc.exitCode !== null || svc.proc.signalCode !== null ? 1 : 0,
      extra: {
        drained,
        applied,
        failedAttempts,
        deferrals,
        deferralReasons,
        breakerTransitions: breaker.map((b) => `${b.key}:${b.state}`),
        partialVisible: partial.length,
        visibilityChecks: checks,
        incompleteCopies: incomplete.length,
      },
      examples: {
        ...t.examples,
        partial: partial.slice(0, 10),
        incomplete: incomplete.slice(0, 10),
      },
    };
    writeReport(report);

    expect(report.crashes, svc.lines.slice(-20).join('\n')).toBe(0);
    expect(applied.map((a) => a.breakerOpened)).toEqual([true, true]);
    expect(failedAttempts + deferrals).toBeGreaterThan(0);
    expect(partial).toEqual([]);
    expect(incomplete).toEqual([]);
    expect(t.lost, JSON.stringify(t.examples)).toBe(0);
    expect(t.multipleTerminal, JSON.stringify(t.examples)).toBe(0);
    expect(t.wrongOutcome, JSON.stringify(t.examples)).toBe(0);
    expect(drained).toBe(true);
  }, 300_000);
});
