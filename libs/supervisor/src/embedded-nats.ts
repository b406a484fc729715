/**
 * The embedded broker of `npm start`: a nats-server child with JetStream,
 * its store under `<data>/nats`, on the port of the previous run when that
 * port is free (clients that remember the URL keep working), else on any
 * free port: never assumed to be 4222.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIN_SERVER_VERSION, RfwError } from '@rfw/core';
import { compareVersions, resolveNatsServer } from '@rfw/testkit';
import { ManagedProcess, type ProcessEvents } from './managed-process.js';
import { anyFreePort, isPortFree } from './ports.js';

export const NATS_INSTALL_HINT = [
  'nats-server was not found. npm start runs a local nats-server (2.10 or newer) with JetStream; it looks on PATH,',
  "then in .cache/nats-server, then fetches Debian's build with apt. Or install it with one of:",
  '  Debian 13+:     sudo apt-get install -y nats-server',
  '  macOS:          brew install nats-server',
  '  any OS:         go install github.com/nats-io/nats-server/v2@latest',
  '  container:      docker run -d --name nats -p 4222:4222 nats:2.10 -js   then: NATS_URL=nats://127.0.0.1:4222 npm start',
  'or point NATS_URL at a NATS server with JetStream enabled. Set NATS_SERVER_BIN if the binary is not on PATH.',
].join('\n');

/** nats-server is not installed (or not runnable). */
export class NatsServerMissingError extends RfwError {
  constructor(
    readonly bin: string,
    options?: ErrorOptions,
    detail?: string,
  ) {
    super(detail ? `${NATS_INSTALL_HINT}\n${detail}` : NATS_INSTALL_HINT, options);
  }
}

/**
 * The nats-server to embed: `NATS_SERVER_BIN` when given, else what
 * `resolveNatsServer()` finds or fetches (a 2.10+ on PATH, the cache, Debian's build).
 */
export function locateNatsServer(bin?: string): string {
  if (bin) return bin;
  try {
    return resolveNatsServer({ ...process.env, NATS_SERVER_BIN: '' }).bin;
  } catch (err) {
    throw new NatsServerMissingError('nats-server', { cause: err }, (err as Error).message);
  }
}

/** A chosen port is already taken by another program. */
export class PortInUseError extends RfwError {
  constructor(
    readonly port: number,
    readonly host: string,
    readonly what: string,
    readonly hint: string,
  ) {
    super(
      `${what} port ${port} on ${host} is already in use by another program. ${hint}\n` +
        `  (find it with: ss -ltnp 'sport = :${port}'   or   lsof -i :${port})`,
    );
  }
}

/** The version of the nats-server binary; throws `NatsServerMissingError`. */
export function natsServerVersion(bin: string): string {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new NatsServerMissingError(bin, { cause: r.error });
  const version = r.stdout.trim().replace(/^nats-server:\s*/, '');
  if (compareVersions(version, MIN_SERVER_VERSION) < 0) {
    throw new NatsServerMissingError(
      bin,
      undefined,
      `${bin} is nats-server ${version}, older than 2.10.`,
    );
  }
  return version;
}

interface NatsState {
  port?: number;
  pid?: number;
}

export interface EmbeddedNatsOptions {
  bin: string;
  /** `<data>/nats`. */
  dir: string;
  /** A fixed port (NATS_PORT); it must be free. */
  port?: number;
  cwd: string;
  restartBaseMs?: number;
  restartMaxMs?: number;
}

/** Map a nats-server log line `[pid] date time [INF] text` to a level and text. */
export function parseNatsLine(line: string): {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
} {
  const m = /^\[\d+\]\s+\S+\s+\S+\s+\[(\w+)\]\s+(.*)$/.exec(line);
  if (!m) return { level: 'info', msg: line };
  const tag = m[1] ?? 'INF';
  const level =
    tag === 'WRN'
      ? 'warn'
      : tag === 'ERR' || tag === 'FTL'
        ? 'error'
        : tag === 'INF'
          ? 'info'
          : 'debug';
  return { level, msg: m[2] ?? '' };
}

export class EmbeddedNats {
  readonly process: ManagedProcess;
  readonly port: number;
  readonly version: string;

  private constructor(
    readonly opts: EmbeddedNatsOptions,
    port: number,
    version: string,
    events: ProcessEvents,
  ) {
    this.port = port;
    this.version = version;
    const storeDir = join(opts.dir, 'jetstream');
    mkdirSync(storeDir, { recursive: true });
    const conf = join(opts.dir, 'nats-server.conf');
    writeFileSync(
      conf,
      [
        '# Written by npm start on every run; edit libs/supervisor/src/embedded-nats.ts instead.',
        'server_name: rfw_local',
        `listen: 127.0.0.1:${port}`,
        `jetstream { store_dir: ${JSON.stringify(storeDir)} }`,
        // Let a JobQueue see a full queue rather than a truncated message.
        'max_payload: 1MB',
        '',
      ].join('\n'),
    );
    this.process = new ManagedProcess(
      {
        name: 'nats',
        command: opts.bin,
        args: ['-c', conf],
        env: process.env,
        cwd: opts.cwd,
        readyWhen: (line) => (line.includes('Server is ready') ? { url: this.url } : undefined),
        restartBaseMs: opts.restartBaseMs,
        restartMaxMs: opts.restartMaxMs,
      },
      events,
    );
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** The port the previous run used, from `<data>/nats/state.json`. */
  static previousState(dir: string): NatsState {
    try {
      return JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as NatsState;
    } catch {
      return {};
    }
  }

  /**
   * Check the binary, choose the port, write the config. Throws
   * `NatsServerMissingError` or `PortInUseError` (fixed port taken).
   */
  static async prepare(opts: EmbeddedNatsOptions, events: ProcessEvents): Promise<EmbeddedNats> {
    const version = natsServerVersion(opts.bin);
    mkdirSync(opts.dir, { recursive: true });
    let port: number;
    if (opts.port) {
      if (!(await isPortFree(opts.port))) {
        throw new PortInUseError(
          opts.port,
          '127.0.0.1',
          'NATS',
          'Unset NATS_PORT to let npm start pick a free one.',
        );
      }
      port = opts.port;
    } else {
      const prev = EmbeddedNats.previousState(opts.dir).port;
      port = prev && (await isPortFree(prev)) ? prev : await anyFreePort();
    }
    writeFileSync(join(opts.dir, 'state.json'), `${JSON.stringify({ port }, null, 2)}\n`);
    return new EmbeddedNats(opts, port, version, events);
  }

  /** Start and wait until it accepts clients; false if it exited instead. */
  async start(): Promise<boolean> {
    this.process.start();
    return this.process.waitReady();
  }
}
