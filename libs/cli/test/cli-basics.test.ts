import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { decodeJson, encodeJson, type Job } from '@rfw/core/internal';
import { freePorts } from '@rfw/testkit';
import { resolveTarget } from '../src/config.js';
import { parseDuration, parseSize, parseTime } from '../src/parsers.js';
import { BIN, NO_RUNTIME_FILE, runCli, scratchDir, useHarness, type CliResult } from './helpers.js';

describe(
  'integration: rfw usage errors, unreachable NATS, discovery, search',
  { timeout: 120_000 },
  () => {
    const h = useHarness();

    it('exits 2 and names the flag on bad arguments, without touching the network', async () => {
      const [port] = await freePorts(1);
      const dead = `nats://127.0.0.1:${port}`;
      const cases: Array<[string[], RegExp]> = [
        [['jobs', 'list', '--limit', '0'], /option '--limit <n>' argument '0' is invalid/],
        [
          ['jobs', 'schedule', 'x', '--priority', 'urgent'],
          /'--priority <priority>'.*must be one of critical, high, normal, low/,
        ],
        [['jobs', 'schedule', 'x', '{bad'], /invalid <payload>: not JSON/],
        [['heal'], /'--bucket <bucket>' not specified/],
        [
          ['heal', '--bucket', 'photos', '--key', 'k', '--node', 'n'],
          /'--key <key>' cannot be used with option '--node <node>'/,
        ],
        [['heal', '--bucket', 'ab'], /invalid --bucket: /],
        [['--prefix', 'Not-A-Prefix', 'stats'], /invalid --prefix: /],
        [['frobnicate'], /unknown command 'frobnicate'/],
        [['frobnicate', '--help'], /unknown command 'frobnicate'/],
        [['jobs', 'frobnicate', '--help'], /unknown command 'frobnicate'/],
      ];
      // Two at a time: each start costs about a second of CPU on a 2-core machine.
      const results: CliResult[] = [];
      for (let i = 0; i < cases.length; i += 2) {
        const batch = cases.slice(i, i + 2).map(([args]) => runCli([...args, '--server', dead]));
        results.push(...(await Promise.all(batch)));
      }
      results.forEach((r, i) => {
        const [args, message] = cases[i]!;
        expect({ args, code: r.code }).toEqual({ args, code: 2 });
        expect(r.stderr).toMatch(message);
        expect(r.stderr).not.toMatch(/cannot reach NATS/);
      });
    });

    it('ends quietly when its output pipe closes early (| head)', async () => {
      const child = spawn(process.execPath, [BIN, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy(); // the reader is gone before the first write
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const [code] = (await once(child, 'close')) as [number | null];
      expect(stderr).toBe('');
      expect(code).toBe(0);
    });

    it('exits 3 when NATS cannot be reached, saying where the URL came from', async () => {
      const [port] = await freePorts(1);
      const runtime = join(scratchDir, 'stale-runtime.json');
      writeFileSync(
        runtime,
        JSON.stringify({ natsUrl: `nats://127.0.0.1:${port}`, prefix: 'rfw' }),
      );
      const [byFlag, byRuntime] = await Promise.all([
        runCli(['stats', '--json', '--server', `nats://127.0.0.1:${port}`]),
        runCli(['jobs', 'list'], { env: { RFW_RUNTIME_FILE: runtime } }),
      ]);
      expect(byFlag.code).toBe(3);
      const err = JSON.parse(byFlag.stderr) as { error: { exitCode: number; message: string } };
      expect(err.error.exitCode).toBe(3);
      expect(err.error.message).toMatch(
        new RegExp(`cannot reach NATS at nats://127\\.0\\.0\\.1:${port} \\(from --server\\)`),
      );
      expect(byRuntime.code).toBe(3);
      expect(byRuntime.stderr).toContain(
        `from ${runtime}, written by npm start: is it still running?`,
      );
    });

    it('finds the local system through runtime.json: RFW_RUNTIME_FILE, or walking up to the repo root', async () => {
      const q = await h.queue();
      const id = await q.schedule('discover', { via: 'runtime.json' });
      const repo = join(scratchDir, 'repo');
      mkdirSync(join(repo, '.data'), { recursive: true });
      mkdirSync(join(repo, 'services', 'deep'), { recursive: true });
      writeFileSync(
        join(repo, 'package.json'),
        JSON.stringify({ name: 'x', workspaces: ['libs/*'] }),
      );
      const runtime = join(repo, '.data', 'runtime.json');
      writeFileSync(
        runtime,
        JSON.stringify({
          natsUrl: h.server.url,
          monitorUrl: 'http://127.0.0.1:8080',
          prefix: h.prefix,
        }),
      );
      const [viaEnv, viaWalk] = await Promise.all([
        // This one also runs the launcher's fallback: the sources through tsx's loader.
        runCli(['jobs', 'get', id, '--json'], {
          env: { RFW_RUNTIME_FILE: runtime, RFW_CLI_TSX: '1' },
        }),
        runCli(['jobs', 'get', id, '--json'], {
          cwd: join(repo, 'services', 'deep'),
          env: { RFW_RUNTIME_FILE: undefined },
        }),
      ]);
      for (const r of [viaEnv, viaWalk]) {
        expect(r.code, r.stderr).toBe(0);
        expect((JSON.parse(r.stdout) as Job).payload).toEqual({ via: 'runtime.json' });
      }
    });

    it('resolves the target: flag, then environment, then runtime file, then defaults', () => {
      const runtime = join(scratchDir, 'rt.json');
      writeFileSync(runtime, JSON.stringify({ natsUrl: 'nats://10.0.0.9:4333', prefix: 'local' }));
      const env = { RFW_RUNTIME_FILE: runtime };
      expect(resolveTarget({ env })).toMatchObject({
        servers: ['nats://10.0.0.9:4333'],
        serversFrom: 'runtime',
        prefix: 'local',
        prefixFrom: 'runtime',
        runtimeFile: runtime,
      });
      expect(
        resolveTarget({ env: { ...env, NATS_URL: 'nats://a:1,nats://b:2', RFW_PREFIX: 'envp' } }),
      ).toMatchObject({
        servers: ['nats://a:1', 'nats://b:2'],
        serversFrom: 'env',
        prefix: 'envp',
      });
      // The runtime file's prefix belongs to its URL: not used with another server.
      expect(resolveTarget({ env, server: 'nats://c:3' })).toMatchObject({
        servers: ['nats://c:3'],
        prefix: 'rfw',
        prefixFrom: 'default',
      });
      expect(resolveTarget({ env, prefix: 'mine' })).toMatchObject({
        prefix: 'mine',
        prefixFrom: 'flag',
      });
      expect(resolveTarget({ env: { RFW_RUNTIME_FILE: NO_RUNTIME_FILE } })).toMatchObject({
        servers: ['nats://127.0.0.1:4222'],
        serversFrom: 'default',
        prefix: 'rfw',
      });
      writeFileSync(runtime, JSON.stringify({ natsUrl: 42 }));
      expect(() => resolveTarget({ env })).toThrow(/runtime file .*field natsUrl/);
    });

    it('parses durations, sizes and times', () => {
      expect(parseDuration('1500')).toBe(1500);
      expect(parseDuration('30s')).toBe(30_000);
      expect(parseDuration('1h30m')).toBe(5_400_000);
      expect(() => parseDuration('soon')).toThrow(/not a duration/);
      expect(parseSize('10KB')).toBe(10_000);
      expect(parseSize('1.5MiB')).toBe(1_572_864);
      expect(() => parseSize('big')).toThrow(/not a size/);
      expect(parseTime('2024-05-01T00:00:00Z')).toBe(Date.UTC(2024, 4, 1));
      expect(parseTime('7d', 10 * 86_400_000)).toBe(3 * 86_400_000);
      expect(() => parseTime('yesterday-ish')).toThrow(/not a time/);
    });

    it('search sends the request to <prefix>.api.search and prints the matches', async () => {
      const noOne = await h.cli(['search', 'cats']);
      expect(noOne.code).toBe(1);
      expect(noOne.stderr).toMatch(
        new RegExp(
          `no search service answers on ${h.prefix}\\.api\\.search: is the indexing worker running`,
        ),
      );

      const nc = await connect({ servers: h.server.url });
      try {
        const requests: unknown[] = [];
        const sub = nc.subscribe(`${h.prefix}.api.search`, {
          callback: (_err, m) => {
            const req = decodeJson<Record<string, unknown>>(m.data);
            requests.push(req);
            if (req.bucket === 'bad') {
              m.respond(encodeJson({ error: { field: 'bucket', message: 'no such bucket' } }));
              return;
            }
            m.respond(
              encodeJson({
                results: [
                  {
                    bucket: 'photos',
                    key: 'cats/tom.jpg',
                    size: 2_097_152,
                    mtime: Date.now() - 120_000,
                    contentType: 'image/jpeg',
                    metadata: { owner: 'ann' },
                  },
                ],
                nextCursor: 'c2',
                total: 7,
              }),
            );
          },
        });
        await nc.flush();
        const r = await h.cli([
          'search',
          'cats',
          '--bucket',
          'photos',
          '--prefix',
          'cats/',
          '--meta',
          'owner=ann',
          '--min-size',
          '1KiB',
          '--modified-after',
          '2024-01-01T00:00:00Z',
          '--limit',
          '10',
        ]);
        expect(r.code, r.stderr).toBe(0);
        expect(requests[0]).toEqual({
          bucket: 'photos',
          prefix: 'cats/',
          text: 'cats',
          metadata: { owner: 'ann' },
          minSize: 1024,
          modifiedAfter: Date.UTC(2024, 0, 1),
          limit: 10,
        });
        expect(r.stdout).toMatch(/^BUCKET\s+KEY\s+SIZE\s+MODIFIED/);
        expect(r.stdout).toMatch(
          /^photos\s+cats\/tom\.jpg\s+2\.0 MiB\s+2m ago\s+image\/jpeg\s+\{"owner":"ann"\}$/m,
        );
        expect(r.stderr).toMatch(/1 shown of 7/);
        expect(r.stderr).toMatch(/--cursor c2/);

        const bad = await h.cli(['search', '--bucket', 'bad']);
        expect(bad.code).toBe(2);
        expect(bad.stderr).toMatch(/invalid --bucket: no such bucket/);

        // The service's schema, checked before sending: nothing reaches the service.
        const sent = requests.length;
        const local = await h.cli(['search', '!!!']);
        expect(local.code).toBe(2);
        expect(local.stderr).toMatch(/invalid \[text\]: has no letters or digits/);
        expect(requests.length).toBe(sent);
        sub.unsubscribe();
      } finally {
        await nc.close();
      }
    });
  },
);
