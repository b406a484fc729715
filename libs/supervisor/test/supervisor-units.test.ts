import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@rfw/core';
import {
  formatLogLine,
  loadConfig,
  parseNatsLine,
  planServices,
  restartDelay,
  serviceEnv,
  SERVICES,
  findRepoRoot,
  demoJobs,
  ManagedProcess,
} from '@rfw/supervisor';
import { waitFor } from '@rfw/testkit';

const at = new Date(2026, 0, 1, 12, 0, 1).getTime();

describe('integration: supervisor log stream', () => {
  it('turns a pino line into one tagged, readable line', () => {
    const line = JSON.stringify({
      level: 40,
      time: at,
      pid: 7,
      hostname: 'h',
      service: 'worker-healing',
      msg: 'job dead-lettered',
      jobId: 'j1',
      reason: 'max retries',
      err: { type: 'TypeError', message: 'bad\nthing', stack: 'TypeError: bad\n  at x' },
    });
    expect(formatLogLine('worker-healing', line, { colour: false })).toBe(
      '[worker-healing] 12:00:01 WARN job dead-lettered jobId=j1 reason="max retries" err="TypeError: bad\\nthing"',
    );
  });

  it('keeps a line that is not JSON, tagged, and pads tags so messages line up', () => {
    expect(formatLogLine('monitor', 'plain text  ', { colour: false, tagWidth: 10 }, at)).toBe(
      '[monitor]    12:00:01 plain text',
    );
  });

  it('colours the tag and level only when asked', () => {
    const line = JSON.stringify({ level: 30, time: at, msg: 'hi' });
    expect(formatLogLine('a', line, { colour: true })).toContain('\u001b[');
    expect(formatLogLine('a', line, { colour: false })).not.toContain('\u001b[');
  });

  it('reads nats-server log lines', () => {
    expect(parseNatsLine('[12] 2026/01/01 12:00:00.000000 [WRN] Plaintext passwords')).toEqual({
      level: 'warn',
      msg: 'Plaintext passwords',
    });
    expect(parseNatsLine('[12] 2026/01/01 12:00:00.000000 [INF] Server is ready').level).toBe(
      'info',
    );
  });
});

describe('integration: supervisor policy', () => {
  it('backs off exponentially with jitter, capped', () => {
    const mid = (): number => 0.5;
    expect(restartDelay(1, 500, 30_000, mid)).toBe(500);
    expect(restartDelay(2, 500, 30_000, mid)).toBe(1000);
    expect(restartDelay(4, 500, 30_000, mid)).toBe(4000);
    expect(restartDelay(50, 500, 30_000, mid)).toBe(30_000);
    expect(restartDelay(3, 500, 30_000, () => 0)).toBe(1600);
    expect(restartDelay(3, 500, 30_000, () => 1)).toBe(2400);
  });

  it('reads its environment with defaults and names a bad variable', () => {
    const root = findRepoRoot();
    const c = loadConfig({}, root);
    expect(c.monitorPort).toBe(8080);
    expect(c.dataDir).toBe(join(root, '.data'));
    expect(loadConfig({ HTTP_PORT: '9000' }, root).monitorPort).toBe(9000);
    expect(loadConfig({ HTTP_PORT: '9000', MONITOR_PORT: '9001' }, root).monitorPort).toBe(9001);
    expect(loadConfig({ NATS_URL: '' }, root).natsUrl).toBeUndefined();
    expect(loadConfig({ RFW_SERVICES: 'none' }, root).only).toEqual([]);
    expect(() => loadConfig({ MONITOR_PORT: 'eighty' }, root)).toThrow(ConfigError);
    expect(() => loadConfig({ MONITOR_PORT: 'eighty' }, root)).toThrow(/MONITOR_PORT/);
    expect(() => loadConfig({ RFW_PREFIX: 'Bad-Prefix' }, root)).toThrow(/prefix/);
    expect(() => planServices(root, ['worker-nope'])).toThrow(/RFW_SERVICES/);
  });

  it('gives each service its environment: the monitor the dashboard port, the others any free port', () => {
    const input = {
      natsUrl: 'nats://127.0.0.1:1',
      prefix: 'rfw',
      httpHost: '127.0.0.1',
      monitorPort: 8080,
      topologyFile: '/t.json',
    };
    const base = { HTTP_PORT: '9999', MONITOR_PORT: '8080', PATH: '/bin' };
    const monitor = serviceEnv(
      SERVICES.find((s) => s.monitor)!,
      input,
      base,
    );
    const healing = serviceEnv(
      SERVICES.find((s) => s.name === 'worker-healing')!,
      input,
      base,
    );
    expect(monitor.HTTP_PORT).toBe('8080');
    expect(healing.HTTP_PORT).toBe('0');
    expect(healing.TOPOLOGY_FILE).toBe('/t.json');
    expect(healing.NATS_URL).toBe('nats://127.0.0.1:1');
    expect(healing.MONITOR_PORT).toBeUndefined();
    expect(healing.PATH).toBe('/bin');
    const indexing = serviceEnv(
      SERVICES.find((s) => s.name === 'worker-indexing')!,
      { ...input, dataDir: '/d' },
      base,
    );
    expect(indexing.INDEX_SQLITE_PATH).toBe('/d/index/rfw-index.sqlite');
  });
});

describe('integration: supervisor demo', () => {
  it('has one demo job per storage worker service, each with a payload its worker accepts', () => {
    const jobs = demoJobs();
    const workers = SERVICES.filter((s) => s.name.startsWith('worker-')).map((s) => s.name);
    expect(jobs.map((j) => j.service).sort()).toEqual([...workers].sort());
    for (const j of jobs) expect(j.options?.id).toMatch(/^demo-/);
  });
});

describe('integration: supervised child process', () => {
  const node = (code: string) => ({
    command: process.execPath,
    args: ['-e', code],
    cwd: process.cwd(),
    env: process.env,
  });

  it('restarts a crashing child with growing delays, then stops it', async () => {
    const exits: Array<{ code: number | null; restartInMs?: number }> = [];
    let readies = 0;
    const p = new ManagedProcess(
      {
        name: 'crasher',
        ...node("console.log('up'); setTimeout(() => process.exit(3), 20)"),
        readyWhen: (l) => (l === 'up' ? {} : undefined),
        restartBaseMs: 40,
        restartMaxMs: 1000,
      },
      { ready: () => readies++, exit: (e) => exits.push(e) },
    );
    p.start();
    await waitFor('three crashes', () => exits.length >= 3, { timeoutMs: 30_000 });
    expect(await p.stop(5000)).toMatch(/clean|not-running/);
    expect(exits[0]!.code).toBe(3);
    const delays = exits.slice(0, 3).map((e) => e.restartInMs!);
    // 40, 80, 160 ms each +-20%.
    expect(delays[0]).toBeGreaterThanOrEqual(32);
    expect(delays[0]).toBeLessThanOrEqual(48);
    expect(delays[2]).toBeGreaterThanOrEqual(128);
    expect(delays[2]).toBeLessThanOrEqual(192);
    expect(readies).toBeGreaterThanOrEqual(3);
    expect(p.restarts).toBeGreaterThanOrEqual(2);
    expect(p.state).toBe('stopped');
  });

  it('SIGKILLs a child that ignores SIGTERM once the grace is over', async () => {
    const p = new ManagedProcess({
      name: 'stubborn',
      ...node("process.on('SIGTERM', () => {}); console.log('up'); setInterval(() => {}, 1000)"),
      readyWhen: (l) => (l === 'up' ? {} : undefined),
    });
    p.start();
    expect(await p.waitReady()).toBe(true);
    const t0 = Date.now();
    expect(await p.stop(300)).toBe('killed');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(p.state).toBe('stopped');
  });
});
