/**
 * Which nats-server binary to run, and where to get one.
 *
 * The project supports nats-server 2.10 and newer. A machine often has none,
 * or an older one (Debian bookworm ships 2.9.10), so the binary is resolved in
 * this order:
 *
 * 1. `NATS_SERVER_BIN`: that binary, as it is (the user's explicit choice).
 * 2. `NATS_SERVER_VERSION`: `trixie` (2.10.x), `sid` (the newest), `bookworm`
 *    (2.9.x, only for the test that checks old servers are refused), or a
 *    version prefix such as `2.10` or `2.15`: the cached build of that suite or
 *    version, fetched first when missing.
 * 3. `nats-server` on `PATH`, when it is 2.10 or newer.
 * 4. The newest build (2.10 or newer) already in the cache.
 * 5. A fetch of Debian sid's current build (trixie's when sid has none).
 *
 * A fetch uses apt with a temporary source list (nothing of the machine's apt
 * configuration changes): apt checks the package against the archive's signed
 * index, `dpkg -x` unpacks it, and the binary lands in the cache as
 * `<cache>/<version>/nats-server`. The cache is `RFW_NATS_CACHE`, else
 * `.cache/nats-server` in the repository that the working directory is in,
 * else `~/.cache/rfw/nats-server`.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/** The oldest nats-server the project supports. */
export const MIN_SERVER_VERSION = '2.10.0';

/** Debian suites a build can be fetched from, with the oldest version each must carry. */
export const SERVER_SUITES = {
  bookworm: '2.9.0',
  trixie: '2.10.0',
  sid: '2.12.0',
} as const;
/** A Debian suite a build can be fetched from: `bookworm`, `trixie` or `sid`. */
export type ServerSuite = keyof typeof SERVER_SUITES;

/** A nats-server binary that runs, with its version. */
export interface ResolvedServer {
  /** Path of the binary (`nats-server` itself when found on `PATH`). */
  bin: string;
  /** `2.10.27`. */
  version: string;
  /** How it was found. */
  source: 'NATS_SERVER_BIN' | 'PATH' | 'cache' | 'fetched';
}

/** No usable nats-server, and none could be fetched; the message says what to install. */
export class NatsServerUnavailableError extends Error {
  /** Always `NatsServerUnavailableError`. */
  override name = 'NatsServerUnavailableError';
}

/** `[major, minor, patch]` of a version string such as `v2.10.27` or `2.15.1-1`. */
export function parseVersion(text: string): [number, number, number] | undefined {
  const m = /(\d+)\.(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** -1, 0 or 1, comparing two version strings numerically. */
export function compareVersions(a: string, b: string): number {
  const va = parseVersion(a) ?? [0, 0, 0];
  const vb = parseVersion(b) ?? [0, 0, 0];
  for (let i = 0; i < 3; i++) {
    if (va[i]! !== vb[i]!) return va[i]! < vb[i]! ? -1 : 1;
  }
  return 0;
}

/** The version a binary prints, or undefined when it does not run. */
export function binaryVersion(bin: string): string | undefined {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  const v = parseVersion(r.stdout ?? '');
  return v?.join('.');
}

/** Where fetched builds are kept. */
export function serverCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.RFW_NATS_CACHE) return resolve(env.RFW_NATS_CACHE);
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    if (existsSync(join(dir, '.git')) || existsSync(join(dir, 'package-lock.json'))) {
      return join(dir, '.cache', 'nats-server');
    }
    if (dirname(dir) === dir) break;
  }
  return join(homedir(), '.cache', 'rfw', 'nats-server');
}

/** Cached builds, newest first. */
export function cachedServers(cacheDir: string): ResolvedServer[] {
  if (!existsSync(cacheDir)) return [];
  return readdirSync(cacheDir)
    .filter((d) => /^\d+\.\d+\.\d+$/.test(d) && existsSync(join(cacheDir, d, 'nats-server')))
    .sort((a, b) => compareVersions(b, a))
    .map((version) => ({ bin: join(cacheDir, version, 'nats-server'), version, source: 'cache' }));
}

/**
 * Resolve the nats-server to run (see the module comment for the order).
 * Throws `NatsServerUnavailableError` with what to install when there is none.
 */
export function resolveNatsServer(env: NodeJS.ProcessEnv = process.env): ResolvedServer {
  if (env.NATS_SERVER_BIN) {
    const version = binaryVersion(env.NATS_SERVER_BIN);
    if (!version) {
      throw new NatsServerUnavailableError(
        `NATS_SERVER_BIN=${env.NATS_SERVER_BIN} does not run (\`${env.NATS_SERVER_BIN} --version\` failed).`,
      );
    }
    return { bin: env.NATS_SERVER_BIN, version, source: 'NATS_SERVER_BIN' };
  }
  const cacheDir = serverCacheDir(env);
  const wanted = env.NATS_SERVER_VERSION?.trim();
  if (wanted) return resolveWanted(wanted, cacheDir);

  const onPath = binaryVersion('nats-server');
  if (onPath && compareVersions(onPath, MIN_SERVER_VERSION) >= 0) {
    return { bin: 'nats-server', version: onPath, source: 'PATH' };
  }
  const cached = cachedServers(cacheDir).find(
    (s) => compareVersions(s.version, MIN_SERVER_VERSION) >= 0,
  );
  if (cached) return cached;
  try {
    return suiteServer('sid', cacheDir);
  } catch (sidErr) {
    try {
      return suiteServer('trixie', cacheDir);
    } catch {
      const found = onPath ? ` (the nats-server on PATH is ${onPath}, older than 2.10)` : '';
      throw new NatsServerUnavailableError(
        `No nats-server 2.10 or newer${found}, and none could be fetched: ${(sidErr as Error).message}`,
        { cause: sidErr },
      );
    }
  }
}

/** How long a suite's fetched build is used before apt is asked again, ms. */
const SUITE_FRESH_MS = 24 * 3600_000;

/** A suite's build: the one fetched within a day, else a new fetch. */
function suiteServer(suite: ServerSuite, cacheDir: string): ResolvedServer {
  const note = join(cacheDir, `${suite}.json`);
  try {
    const { version, at } = JSON.parse(readFileSync(note, 'utf8')) as {
      version: string;
      at: number;
    };
    const bin = join(cacheDir, version, 'nats-server');
    if (Date.now() - at < SUITE_FRESH_MS && existsSync(bin))
      return { bin, version, source: 'cache' };
  } catch {
    // no note yet, or unreadable: fetch
  }
  const got = fetchNatsServer(suite, cacheDir);
  writeFileSync(note, JSON.stringify({ version: got.version, at: Date.now() }));
  return got;
}

function resolveWanted(wanted: string, cacheDir: string): ResolvedServer {
  if (wanted in SERVER_SUITES) return suiteServer(wanted as ServerSuite, cacheDir);
  if (!/^\d+\.\d+(\.\d+)?$/.test(wanted)) {
    throw new NatsServerUnavailableError(
      `NATS_SERVER_VERSION=${wanted}: expected trixie, sid, bookworm or a version such as 2.10 or 2.15.1.`,
    );
  }
  const matches = (v: string): boolean => v === wanted || v.startsWith(`${wanted}.`);
  const cached = cachedServers(cacheDir).find((s) => matches(s.version));
  if (cached) return cached;
  const suite: ServerSuite = wanted.startsWith('2.9')
    ? 'bookworm'
    : wanted.startsWith('2.10')
      ? 'trixie'
      : 'sid';
  const got = suiteServer(suite, cacheDir);
  if (!matches(got.version)) {
    throw new NatsServerUnavailableError(
      `NATS_SERVER_VERSION=${wanted}: Debian ${suite} carries nats-server ${got.version} now ` +
        `(kept in ${dirname(got.bin)}). Use NATS_SERVER_VERSION=${suite} or ${got.version}.`,
    );
  }
  return got;
}

/** The machine's Debian archive (from its own apt sources), else deb.debian.org. */
function debianArchive(): string {
  const files = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'];
  for (const f of files) {
    if (!existsSync(f)) continue;
    const text = readFileSync(f, 'utf8');
    const m = /(?:URIs:|^deb(?:\s+\[[^\]]*\])?)\s+(https?:\/\/\S+\/debian)\/?\s*$/m.exec(text);
    if (m) return m[1]!;
  }
  return 'http://deb.debian.org/debian';
}

const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

function installAdvice(): string {
  return [
    'Install nats-server 2.10 or newer, then run again, or set NATS_SERVER_BIN to its path:',
    '  macOS:        brew install nats-server',
    '  Debian 13+:   apt-get install -y nats-server',
    '  other Linux:  a release build from the nats-server project, or `go install github.com/nats-io/nats-server/v2@latest`',
  ].join('\n');
}

function run(cmd: string, args: string[], what: string): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 300_000 });
  if (r.error || r.status !== 0) {
    const out = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().split('\n').slice(-5).join('\n');
    throw new NatsServerUnavailableError(`${what} failed: ${r.error?.message ?? out}`);
  }
}

/**
 * Fetch the current nats-server build of a Debian suite into the cache, with
 * apt and a temporary source list; returns the cached binary (fetching nothing
 * when that version is already cached).
 */
export function fetchNatsServer(suite: ServerSuite, cacheDir = serverCacheDir()): ResolvedServer {
  const hasApt = spawnSync('apt-get', ['--version']).status === 0;
  const hasDpkg = spawnSync('dpkg', ['--version']).status === 0;
  if (!hasApt || !hasDpkg) {
    throw new NatsServerUnavailableError(
      `Fetching nats-server needs apt-get and dpkg (Debian or Ubuntu); this machine has none.\n${installAdvice()}`,
    );
  }
  if (!existsSync(KEYRING)) {
    throw new NatsServerUnavailableError(
      `Fetching nats-server needs Debian's archive keyring (${KEYRING}): apt-get install -y debian-archive-keyring.\n${installAdvice()}`,
    );
  }
  mkdirSync(cacheDir, { recursive: true });
  const work = join(cacheDir, `.fetch-${suite}-${process.pid}-${Date.now()}`);
  const lists = join(work, 'lists');
  mkdirSync(join(lists, 'partial'), { recursive: true });
  mkdirSync(join(work, 'cache', 'archives', 'partial'), { recursive: true });
  try {
    const sourceList = join(work, 'sources.list');
    writeFileSync(sourceList, `deb [signed-by=${KEYRING}] ${debianArchive()} ${suite} main\n`);
    const opts = [
      '-q',
      '-o',
      `Dir::Etc::sourcelist=${sourceList}`,
      '-o',
      'Dir::Etc::sourceparts=-',
      '-o',
      `Dir::State::Lists=${lists}`,
      '-o',
      `Dir::Cache=${join(work, 'cache')}`,
      '-o',
      'APT::Get::List-Cleanup=0',
    ];
    run('apt-get', [...opts, 'update'], `apt-get update (Debian ${suite})`);
    const dl = spawnSync('apt-get', [...opts, 'download', `nats-server/${suite}`], {
      cwd: work,
      encoding: 'utf8',
      timeout: 300_000,
    });
    const deb = readdirSync(work).find((f) => f.startsWith('nats-server_') && f.endsWith('.deb'));
    if (!deb) {
      throw new NatsServerUnavailableError(
        `apt-get download nats-server/${suite} failed: ${(dl.stderr ?? '').trim().slice(-500)}`,
      );
    }
    run('dpkg', ['-x', join(work, deb), join(work, 'root')], `dpkg -x ${deb}`);
    const bin = join(work, 'root', 'usr', 'sbin', 'nats-server');
    const version = binaryVersion(bin);
    if (!version) throw new NatsServerUnavailableError(`${deb} holds no runnable nats-server`);
    if (compareVersions(version, SERVER_SUITES[suite]) < 0) {
      throw new NatsServerUnavailableError(
        `Debian ${suite} carries nats-server ${version}; at least ${SERVER_SUITES[suite]} was expected.`,
      );
    }
    const target = join(cacheDir, version);
    if (!existsSync(join(target, 'nats-server'))) {
      const staged = join(work, 'staged');
      mkdirSync(staged);
      renameSync(bin, join(staged, 'nats-server'));
      try {
        renameSync(staged, target);
      } catch (err) {
        // Another process cached the same version first: use its copy.
        if (!existsSync(join(target, 'nats-server'))) throw err;
      }
    }
    return { bin: join(target, 'nats-server'), version, source: 'fetched' };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
