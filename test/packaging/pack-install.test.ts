/**
 * The published packages work outside this repository: `npm pack` the four
 * libraries, install the tarballs into a copy of examples/custom-worker in a
 * temporary directory (no workspace links, no path into the repository;
 * third-party packages come from the npm cache or registry), type-check and
 * build it with its own TypeScript, then run its worker service and its
 * producer against a real nats-server, and its own tests (node:test + the
 * installed test kit).
 */
import { execFile } from 'node:child_process';
import { cpSync, lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsServer, spawnService, findNatsServer } from '@rfw/testkit';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));
const example = join(repo, 'examples/custom-worker');
const PACKAGES = ['@rfw/core', '@rfw/worker', '@rfw/cluster', '@rfw/testkit'];

/** The environment of a child npm/node, without what `npm run` and vitest set for this repo. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) || k === 'NODE_OPTIONS' || k === 'VITEST' || k === 'INIT_CWD') continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

async function sh(cmd: string, args: string[], cwd: string, env = cleanEnv()): Promise<string> {
  try {
    const { stdout } = await run(cmd, args, { cwd, env, maxBuffer: 32 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd}\n${e.stdout}\n${e.stderr}`, {
      cause: err,
    });
  }
}

describe('packages installed from their tarballs', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'rfw-pack-install-'));
  const project = join(scratch, 'custom-worker');
  let server: NatsServer;

  beforeAll(async () => {
    // Compile the libraries (turbo: a no-op when dist/ is up to date), then pack them.
    await sh('npm', ['run', 'build:libs'], repo);
    const packed = JSON.parse(
      await sh(
        'npm',
        ['pack', '--json', '--pack-destination', scratch, ...PACKAGES.flatMap((p) => ['-w', p])],
        repo,
      ),
    ) as Array<{ name: string; filename: string }>;
    const tarballs = Object.fromEntries(
      packed.map((p) => [p.name, `file:${join(scratch, p.filename)}`]),
    );

    // The example as a user has it: its own package.json, pointed at the tarballs.
    cpSync(example, project, {
      recursive: true,
      filter: (src) => !/[/\\](node_modules|dist)$/.test(src),
    });
    const pkgFile = join(project, 'package.json');
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
      overrides?: Record<string, string>;
    };
    for (const deps of [pkg.dependencies, pkg.devDependencies]) {
      for (const name of Object.keys(deps)) if (tarballs[name]) deps[name] = tarballs[name];
    }
    pkg.dependencies['@rfw/cluster'] = tarballs['@rfw/cluster']!;
    // Every @rfw/* dependency of a package resolves to a tarball too, never to a registry.
    pkg.overrides = Object.fromEntries(PACKAGES.map((n) => [n, `$${n}`]));
    writeFileSync(pkgFile, JSON.stringify(pkg, null, 2));
    await sh(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'],
      project,
    );
    server = await NatsServer.start();
  }, 240_000);

  afterAll(async () => {
    await server?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('installs real copies, not links into the repository', () => {
    for (const name of PACKAGES) {
      const dir = join(project, 'node_modules', name);
      expect(lstatSync(dir).isSymbolicLink(), name).toBe(false);
      const manifest = readFileSync(join(dir, 'package.json'), 'utf8');
      expect(manifest).not.toContain(repo);
    }
    expect(readFileSync(join(project, 'package-lock.json'), 'utf8')).not.toContain(repo);
  });

  it('type-checks and builds a worker and a producer with the public entry points', async () => {
    await sh(join(project, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], project);
  }, 120_000);

  it('runs the worker service and the producer: the job succeeds and get() shows it', async () => {
    const env = { NATS_URL: server.url, RFW_PREFIX: 'packed', HTTP_PORT: '0', LOG_LEVEL: 'info' };
    const worker = spawnService(join(project, 'dist/src/main.js'), {
      execArgv: [],
      cwd: project,
      env: { ...cleanEnv(), ...env },
    });
    try {
      await worker.waitForLine(/service ready/, 60_000);
      const producer = spawnService(join(project, 'dist/src/enqueue.js'), {
        execArgv: [],
        cwd: project,
        env: { ...cleanEnv(), ...env },
        args: ['cat.jpg'],
      });
      const line = await producer.waitForLine(/"state":/, 60_000);
      expect(JSON.parse(line)).toMatchObject({
        type: 'thumbnail',
        state: 'succeeded',
        result: { thumbnail: 'photos/thumbs/cat.jpg@128', size: 128 },
      });
      expect((await producer.exited).code).toBe(0);
    } finally {
      await worker.kill('SIGTERM');
    }
  }, 120_000);

  it("passes the example's own tests, written with the installed test kit", async () => {
    await sh(
      process.execPath,
      ['--test', 'dist/test/'],
      project,
      cleanEnv({ NATS_SERVER_BIN: findNatsServer() }),
    );
  }, 120_000);
});
