/**
 * Real nats-server processes for tests: one server or a 3-node JetStream
 * cluster, each on free ports with its own temporary store directory. A
 * server can be stopped, SIGKILLed and restarted on the same port and store.
 * Every process and directory is removed by `stop()`/`cleanupAll()`, and on
 * process exit, even when a test fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { freePorts } from './ports.js';
import { parseVersion, resolveNatsServer, type ResolvedServer } from './server-binary.js';

/** What to do when no nats-server 2.10+ can be found or fetched (part of the error message). */
export const INSTALL_HINT =
  'No nats-server 2.10 or newer was found or fetched. Install one (`apt-get install -y nats-server` on ' +
  'Debian 13+, `brew install nats-server` on macOS, or the `nats:2.10` container image) or set NATS_SERVER_BIN.';

let resolved: { key: string; server: ResolvedServer } | undefined;

/** The nats-server that tests run (see `resolveNatsServer`), resolved once per process. */
export function resolvedNatsServer(): ResolvedServer {
  const key = `${process.env.NATS_SERVER_BIN ?? ''}|${process.env.NATS_SERVER_VERSION ?? ''}`;
  if (resolved?.key !== key) {
    try {
      resolved = { key, server: resolveNatsServer() };
    } catch (err) {
      throw new Error(`${INSTALL_HINT}\n${(err as Error).message}`, { cause: err });
    }
  }
  return resolved.server;
}

/** Path of the nats-server binary, or a clear error saying how to install one. */
export function findNatsServer(): string {
  return resolvedNatsServer().bin;
}

/** The nats-server binary's version as [major, minor, patch]. */
export function natsServerVersion(): [number, number, number] | undefined {
  return parseVersion(resolvedNatsServer().version);
}

const live = new Set<NatsServer>();
process.once('exit', () => {
  for (const s of live) s.killSync();
});

/** Options of `NatsServer.start()` (and of each member of `NatsCluster.start()`). */
export interface NatsServerOptions {
  /** Enable JetStream. @default true */
  jetstream?: boolean;
  /** Extra nats-server config appended verbatim. */
  config?: string;
  /** Extra settings inside the `jetstream { }` block, e.g. `sync_interval: always`. */
  jetstreamConfig?: string;
  /** Name of the server (in a cluster). */
  name?: string;
  /** How long to wait for readiness, ms. @default 15000 */
  readyTimeoutMs?: number;
  /** The nats-server binary. @default the resolved one (`findNatsServer()`) */
  bin?: string;
}

/**
 * One real nats-server process on a free loopback port with its own temporary
 * store directory: start, SIGKILL (`kill()`), restart on the same port and
 * store, and `stop()` (which also removes the directory).
 */
export class NatsServer {
  #proc?: ChildProcess;
  #exited?: Promise<void>;
  /** The config file the server runs with. */
  readonly configFile: string;
  /** Everything the server logged, for debugging a failed test. */
  log = '';

  private constructor(
    /** The client port on 127.0.0.1 (kept across `kill()` and `restart()`). */
    readonly port: number,
    /** The server's temporary directory (config file and store); `stop()` removes it. */
    readonly dir: string,
    private readonly readyTimeoutMs: number,
    private readonly bin: string,
  ) {
    this.configFile = join(dir, 'server.conf');
  }

  /** The client URL, `nats://127.0.0.1:<port>`. */
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }
  /** The JetStream store directory (kept across `kill()` and `restart()`). */
  get storeDir(): string {
    return join(this.dir, 'store');
  }
  /** Whether the process is alive. */
  get running(): boolean {
    return (
      this.#proc !== undefined && this.#proc.exitCode === null && this.#proc.signalCode === null
    );
  }
  /** The process id, while it runs. */
  get pid(): number | undefined {
    return this.#proc?.pid;
  }

  /** Start a server (or, with `configFor`, a cluster member) on fresh ports. */
  static async start(
    opts: NatsServerOptions = {},
    port?: number,
    configBody?: string,
  ): Promise<NatsServer> {
    const bin = opts.bin ?? findNatsServer();
    const dir = mkdtempSync(join(tmpdir(), 'rfw-nats-'));
    const p = port ?? (await freePorts(1))[0]!;
    const s = new NatsServer(p, dir, opts.readyTimeoutMs ?? 15_000, bin);
    const js =
      opts.jetstream === false
        ? ''
        : `jetstream { store_dir: "${s.storeDir}"\n${opts.jetstreamConfig ?? ''}\n}`;
    writeFileSync(
      s.configFile,
      [
        `listen: 127.0.0.1:${p}`,
        opts.name ? `server_name: ${opts.name}` : '',
        js,
        configBody ?? '',
        opts.config ?? '',
      ].join('\n'),
    );
    live.add(s);
    try {
      await s.launch();
    } catch (err) {
      await s.stop();
      throw err;
    }
    return s;
  }

  private launch(): Promise<void> {
    const proc = spawn(this.bin, ['-c', this.configFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#proc = proc;
    this.#exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `nats-server on ${this.port} not ready after ${this.readyTimeoutMs} ms:\n${this.log.slice(-2000)}`,
            ),
          ),
        this.readyTimeoutMs,
      );
      const onData = (chunk: Buffer): void => {
        this.log += chunk.toString();
        if (this.log.length > 200_000) this.log = this.log.slice(-100_000);
        if (this.log.includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout?.on('data', onData);
      proc.stderr?.on('data', onData);
      proc.once('exit', (code, sig) => {
        clearTimeout(timer);
        reject(
          new Error(`nats-server exited (${code ?? sig}) before ready:\n${this.log.slice(-2000)}`),
        );
      });
    });
  }

  /** Stop gracefully (SIGTERM), keeping the store for a restart. */
  async shutdown(): Promise<void> {
    if (!this.running) return;
    this.#proc?.kill('SIGTERM');
    await this.#exited;
  }

  /** SIGKILL: no shutdown, no flush. The store stays for a restart. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.#proc?.kill('SIGKILL');
    await this.#exited;
  }

  /** Start again on the same port and store. */
  async restart(): Promise<void> {
    if (this.running) await this.shutdown();
    this.log = '';
    await this.launch();
  }

  /** Stop the process and delete its directory. */
  async stop(): Promise<void> {
    await this.kill();
    live.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** SIGKILL and remove the directory synchronously (process exit handlers). */
  killSync(): void {
    try {
      this.#proc?.kill('SIGKILL');
    } catch {
      // already gone
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A JetStream cluster of real nats-server processes on loopback. */
export class NatsCluster {
  private constructor(
    /** The members, `n1` to `n<size>`. */
    readonly servers: NatsServer[],
  ) {}

  /** The members' client URLs. */
  get urls(): string[] {
    return this.servers.map((s) => s.url);
  }

  /**
   * Start `size` members on fresh ports and wait until the cluster can place a
   * stream on every member. A formation that is not ready in time (seen on a
   * loaded 2-core machine with 2.10: R3 placement refused for the whole wait)
   * is stopped and started again on new ports, once.
   */
  static async start(size = 3, opts: Omit<NatsServerOptions, 'name'> = {}): Promise<NatsCluster> {
    let lastErr: unknown;
    for (let attempt = 1; attempt <= 2; attempt++) {
      const cluster = await NatsCluster.launch(size, opts);
      try {
        await cluster.waitForJetStream(opts.readyTimeoutMs ?? 25_000);
        return cluster;
      } catch (err) {
        lastErr = err;
        await cluster.stop();
      }
    }
    throw lastErr;
  }

  private static async launch(
    size: number,
    opts: Omit<NatsServerOptions, 'name'>,
  ): Promise<NatsCluster> {
    const ports = await freePorts(size * 2);
    const clientPorts = ports.slice(0, size);
    const routePorts = ports.slice(size);
    const routes = routePorts.map((p) => `nats-route://127.0.0.1:${p}`).join(', ');
    const servers = await Promise.all(
      clientPorts.map((p, i) =>
        NatsServer.start(
          { ...opts, name: `n${i + 1}`, readyTimeoutMs: opts.readyTimeoutMs ?? 30_000 },
          p,
          `cluster { name: rfwtest, listen: 127.0.0.1:${routePorts[i]}, routes: [${routes}] }`,
        ),
      ),
    );
    return new NatsCluster(servers);
  }

  /**
   * Resolve once the cluster can place a stream on every member: each node
   * answers JetStream API requests (a meta leader exists), and a stream with
   * one replica per member can be created. A meta leader alone is not enough:
   * on 2.10 it answers before every peer has joined, and R3 placement then
   * fails with "no suitable peers for placement".
   */
  async waitForJetStream(timeoutMs = 25_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const live = this.servers.filter((s) => s.running);
    for (const s of live) {
      const nc = await connect({ servers: s.url });
      try {
        await retryUntil(deadline, timeoutMs, async () => {
          const r = await nc.request('$JS.API.INFO', '', { timeout: 1000 });
          const body = JSON.parse(new TextDecoder().decode(r.data)) as { error?: unknown };
          return !body.error;
        });
      } finally {
        await nc.close();
      }
    }
    const nc = await connect({ servers: live.map((s) => s.url) });
    // A fresh name per try: a create that timed out may still be under way.
    const tried: string[] = [];
    try {
      await retryUntil(deadline, timeoutMs, async () => {
        const name = `testkit_ready_${process.pid}_${Date.now()}_${tried.length}`;
        tried.push(name);
        const config = JSON.stringify({
          name,
          subjects: [`${name}.>`],
          num_replicas: live.length,
          storage: 'memory',
        });
        const r = await nc.request(`$JS.API.STREAM.CREATE.${name}`, config, { timeout: 4000 });
        const body = JSON.parse(new TextDecoder().decode(r.data)) as { error?: unknown };
        if (body.error) throw new Error(JSON.stringify(body.error));
        return true;
      });
    } finally {
      await Promise.all(
        tried.map((name) =>
          nc.request(`$JS.API.STREAM.DELETE.${name}`, '', { timeout: 5000 }).catch(() => undefined),
        ),
      );
      await nc.close();
    }
  }

  /** Stop every member and remove their directories. */
  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()));
  }
}

/** Call `ready` every 100 ms until it returns true; throw once `deadline` (ms since the epoch) passes. */
async function retryUntil(
  deadline: number,
  timeoutMs: number,
  ready: () => Promise<boolean>,
): Promise<void> {
  let last = 'no answer';
  for (;;) {
    try {
      if (await ready()) return;
      last = 'not ready';
    } catch (err) {
      // not ready yet (no responders, timeout, placement refused)
      last = (err as Error).message;
    }
    if (Date.now() > deadline)
      throw new Error(`JetStream cluster not ready after ${timeoutMs} ms: ${last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Stop every server this process started. For `afterAll` hooks. */
export async function cleanupAll(): Promise<void> {
  await Promise.all([...live].map((s) => s.stop()));
}
