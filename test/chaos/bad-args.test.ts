/**
 * Scenario 6c: bad `rfw` command lines, generated with fast-check and run
 * in-process through the CLI's `run(argv, io)` (the same code `npx rfw` runs),
 * against a real nats-server; plus a few real `rfw` processes. Every run must
 * end on its own with a documented exit code (0 ok, 1 failed, 2 bad arguments,
 * 3 unreachable), say what was wrong on stderr, and never leak a stack trace
 * or an internal error.
 */
import { execFile } from 'node:child_process';
import { PassThrough, Readable } from 'node:stream';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { run } from '@rfw/cli';
import { NatsServer } from '@rfw/testkit';
import { badArgs } from './support/bad-args.js';
import { repoRoot, removeScratch, scratchDir } from './support/paths.js';
import { writeReport } from './support/report.js';

const CASES = Number(process.env.CHAOS_BAD_ARGS ?? 4000);
const SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 2 ** 31);
const EXIT_CODES = new Set([0, 1, 2, 3]);
const STACK = /\n\s+at .+[:(]\d+:\d+\)?/;
const INTERNAL =
  /\b(TypeError|ReferenceError|RangeError)\b|Cannot read propert|is not a function|undefined is not|\[object Object\]/;

interface Outcome {
  code: number | 'timeout' | 'threw';
  stdout: string;
  stderr: string;
  ms: number;
}

describe('integration: chaos: bad rfw command lines', () => {
  let server: NatsServer;
  let nc: NatsConnection | undefined;

  beforeAll(async () => {
    server = await NatsServer.start();
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
    removeScratch();
  });

  it(`ends ${CASES} generated bad command lines with a documented exit code and a message`, async () => {
    const started = Date.now();
    const prefix = 'chaos6c';
    const cwd = scratchDir('cli');
    // A stand-in indexing worker so `search` gets an answer.
    nc = await connect({ servers: server.url });
    nc.subscribe(`${prefix}.api.search`, {
      callback: (_err, msg) => {
        msg.respond(JSON.stringify({ results: [] }));
      },
    });
    const env = {
      NATS_URL: server.url,
      RFW_PREFIX: prefix,
      RFW_RUNTIME_FILE: join(cwd, 'no-runtime.json'),
      PATH: process.env.PATH,
    };

    const once = async (argv: string[]): Promise<Outcome> => {
      let stdout = '';
      let stderr = '';
      const out = new PassThrough();
      const err = new PassThrough();
      out.on('data', (c: Buffer) => (stdout += c.toString()));
      err.on('data', (c: Buffer) => (stderr += c.toString()));
      const t0 = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>(
        (r) => (timer = setTimeout(() => r('timeout'), 20_000)),
      );
      let code: Outcome['code'];
      try {
        code = await Promise.race([
          run(argv, { stdout: out, stderr: err, stdin: Readable.from([]), env, cwd }),
          timeout,
        ]);
      } catch (e) {
        code = 'threw';
        stderr += `\n[run threw] ${(e as Error)?.stack ?? String(e)}`;
      }
      clearTimeout(timer);
      return { code, stdout, stderr, ms: Date.now() - t0 };
    };

    const cases = fc.sample(badArgs, { numRuns: CASES, seed: SEED });
    const codes: Record<string, number> = {};
    const failures: Record<string, string[]> = {
      badExitCode: [],
      silentFailure: [],
      stackTrace: [],
      internalError: [],
      badJsonError: [],
    };
    const note = (k: string, argv: string[], o: Outcome): void => {
      const list = failures[k] as string[];
      if (list.length < 10)
        list.push(`${JSON.stringify(argv).slice(0, 200)} -> ${o.code}: ${o.stderr.slice(0, 300)}`);
      else list.push('');
    };
    let slowest = 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < cases.length) {
          const argv = cases[next++] as string[];
          const o = await once(argv);
          slowest = Math.max(slowest, o.ms);
          codes[o.code] = (codes[o.code] ?? 0) + 1;
          if (typeof o.code !== 'number' || !EXIT_CODES.has(o.code)) note('badExitCode', argv, o);
          if (o.code !== 0 && o.stderr.trim() === '') note('silentFailure', argv, o);
          if (STACK.test(o.stderr) || STACK.test(o.stdout)) note('stackTrace', argv, o);
          if (INTERNAL.test(o.stderr)) note('internalError', argv, o);
          // With --json, an error is one JSON line on stderr naming the message.
          if (argv.includes('--json') && o.code !== 0 && /^\{/.test(o.stderr.trim())) {
            try {
              const e = JSON.parse(o.stderr.trim().split('\n').pop() as string) as {
                error?: { message?: unknown };
              };
              if (typeof e.error?.message !== 'string') note('badJsonError', argv, o);
            } catch {
              note('badJsonError', argv, o);
            }
          }
        }
      }),
    );

    // The real executable, as a user types it.
    const real: Array<{ argv: string[]; code: number | null; stderr: string }> = [];
    for (const argv of [
      ['jobs', 'list', '--limit', '0'],
      ['jobs', 'schedule', 'Bad Type!', '{'],
      ['--server', 'nats://127.0.0.1:1', 'stats'],
    ]) {
      const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [join(repoRoot, 'libs/cli/bin/rfw.js'), ...argv],
          { cwd, env, timeout: 120_000 },
          (error, _stdout, stderr) =>
            resolve({
              code: error ? (typeof error.code === 'number' ? error.code : null) : 0,
              stderr,
            }),
        );
      });
      real.push({ argv, code: r.code, stderr: r.stderr.slice(0, 300) });
    }

    const count = (k: string): number => failures[k]?.length ?? 0;
    const report = {
      id: '6c-bad-cli-args',
      title: `${CASES} generated bad rfw command lines, in-process (fast-check seed ${SEED}), + 3 real rfw processes`,
      finishedAt: new Date().toISOString(),
      durationMs: Date.now() - started,
      jobsScheduled: 0,
      terminal: { succeeded: 0, dead: 0, cancelled: 0 },
      lost: 0,
      multipleTerminal: 0,
      multipleTerminalRecords: 0,
      multipleTerminalEvents: 0,
      wrongOutcome:
        count('badExitCode') +
        count('silentFailure') +
        count('stackTrace') +
        count('internalError') +
        count('badJsonError'),
      executions: 0,
      extraExecutions: 0,
      unplannedExecutions: 0,
      faults: { badCommandLines: CASES },
      producerErrors: {},
      crashes: (codes.threw ?? 0) + (codes.timeout ?? 0),
      extra: {
        seed: SEED,
        exitCodes: codes,
        slowestMs: slowest,
        failures: Object.fromEntries(Object.keys(failures).map((k) => [k, count(k)])),
        real,
      },
      examples: Object.fromEntries(
        Object.entries(failures).map(([k, v]) => [k, v.filter(Boolean)]),
      ),
    };
    writeReport(report);

    for (const r of real) {
      expect(r.code, JSON.stringify(r)).not.toBe(0);
      expect(EXIT_CODES.has(r.code as number), JSON.stringify(r)).toBe(true);
      expect(r.stderr).not.toMatch(STACK);
    }
    for (const [k, v] of Object.entries(failures)) {
      expect(v.filter(Boolean), `${k}, seed ${SEED}`).toEqual([]);
    }
  }, 300_000);
});
