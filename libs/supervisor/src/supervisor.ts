/**
 * `Supervisor`: the whole system on one machine. Starts the broker (an
 * embedded nats-server, or NATS_URL), prepares the demo store, runs every
 * service that exists as its own process with one tagged log stream,
 * restarts crashed children with backoff, writes `runtime.json`, schedules
 * the demo jobs, and on stop() shuts the services down (SIGTERM, grace,
 * SIGKILL) before the broker.
 *
 * Lifecycle: created -> starting -> running -> stopping -> stopped.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { RfwError, connectNats } from '@rfw/core/internal';
import { IllegalStateError } from '@rfw/core';
import type { SupervisorConfig } from './config.js';
import { prepareDemoStore, scheduleDemoJobs, demoSchedules, type DemoStore } from './demo.js';
import { EmbeddedNats, PortInUseError, locateNatsServer, parseNatsLine } from './embedded-nats.js';
import { LogSink, tagLogger, type TagLogger } from './log-sink.js';
import { ManagedProcess } from './managed-process.js';
import { isPortFree } from './ports.js';
import { claimDataDir, removeRuntime, writeRuntime, type RuntimeInfo } from './runtime-file.js';
import {
  planServices,
  serviceCommand,
  serviceEntry,
  serviceEnv,
  type ServiceDef,
  type ServicePlan,
} from './services.js';
import { parseRecord } from './log-format.js';

/** A URL without its password, for logs. */
function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:@/]+:)[^@/]+@/g, '$1***@');
}

/** Fail early and clearly when NATS_URL is unreachable or has no JetStream. */
async function checkExternalNats(url: string): Promise<void> {
  let nc;
  try {
    nc = await connectNats({
      servers: url.split(',').map((s) => s.trim()),
      name: 'rfw-supervisor-check',
      nats: { maxReconnectAttempts: 0, timeout: 5000 },
    });
  } catch (err) {
    throw new RfwError(`cannot reach NATS_URL ${redactUrl(url)}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    await jetstreamManager(nc);
  } catch (err) {
    throw new RfwError(
      `NATS_URL ${redactUrl(url)} has no JetStream (${(err as Error).message}): start nats-server with -js`,
      { cause: err },
    );
  } finally {
    await nc.close();
  }
}

export type SupervisorState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

/** Startup was interrupted by stop(). */
class StopRequested extends RfwError {}

export class Supervisor {
  #state: SupervisorState = 'created';
  readonly sink: LogSink;
  readonly log: TagLogger;
  #nats?: EmbeddedNats;
  #natsUrl = '';
  readonly #children = new Map<string, ManagedProcess>();
  #plan: ServicePlan = { run: [], skipped: {} };
  #demo?: DemoStore;
  #startedAt = new Date().toISOString();
  #ready = false;
  /** Set once this supervisor owns the data directory (and so its runtime.json). */
  #ownsDataDir = false;
  #stopping?: Promise<number>;
  #stopped!: () => void;
  readonly #stoppedPromise = new Promise<void>((r) => (this.#stopped = r));

  constructor(
    readonly config: SupervisorConfig,
    sink?: LogSink,
  ) {
    this.sink = sink ?? new LogSink({ format: config.logFormat, level: process.env.LOG_LEVEL });
    this.log = tagLogger(this.sink, 'supervisor');
  }

  get state(): SupervisorState {
    return this.#state;
  }
  get natsUrl(): string {
    return this.#natsUrl;
  }
  get monitorUrl(): string {
    const host = this.config.httpHost === '0.0.0.0' ? '127.0.0.1' : this.config.httpHost;
    return `http://${host}:${this.config.monitorPort}`;
  }

  private checkStop(): void {
    if (this.#stopping) throw new StopRequested('stopped during startup');
  }

  /**
   * Start everything and resolve once every service is ready (or has been
   * given up on). Throws `NatsServerMissingError`, `PortInUseError`,
   * `AlreadyRunningError`, `ConfigError`.
   */
  async start(): Promise<void> {
    if (this.#state !== 'created')
      throw new IllegalStateError('Supervisor', 'start()', this.#state);
    this.#state = 'starting';
    const cfg = this.config;
    mkdirSync(cfg.dataDir, { recursive: true });
    this.#plan = planServices(cfg.root, cfg.only);
    const orphans = claimDataDir(cfg.dataDir, {
      nats: 'nats-server',
      ...Object.fromEntries(this.#plan.run.map((s) => [s.name, serviceEntry(cfg.root, s.name)])),
    });
    this.#ownsDataDir = true;
    if (orphans.length) this.log.warn('stopped processes left by a previous run', { orphans });
    for (const s of this.#plan.run) this.sink.reserveTag(s.name);
    const skipped = Object.entries(this.#plan.skipped);
    const missing = skipped.filter(([, why]) => why.includes('does not exist')).map(([n]) => n);
    const excluded = skipped.filter(([, why]) => !why.includes('does not exist')).map(([n]) => n);
    if (missing.length) {
      this.log.warn(
        `skipping ${missing.join(', ')}: not built yet (no services/<name>/src/main.ts)`,
      );
    }
    if (excluded.length) this.log.info(`not starting ${excluded.join(', ')} (RFW_SERVICES)`);
    if (
      this.#plan.run.some((s) => s.monitor) &&
      !(await isPortFree(cfg.monitorPort, cfg.httpHost))
    ) {
      throw new PortInUseError(
        cfg.monitorPort,
        cfg.httpHost,
        'The monitor (dashboard)',
        `Stop that program or choose another port: MONITOR_PORT=${cfg.monitorPort === 8080 ? 8081 : cfg.monitorPort + 1} npm start`,
      );
    }
    try {
      await this.startBroker();
      this.checkStop();
      this.writeRuntime();
      if (cfg.demo) {
        this.#demo = await prepareDemoStore(cfg.dataDir, this.log);
        this.checkStop();
      }
      for (const def of this.#plan.run) this.startService(def);
      this.writeRuntime();
      const allReady = await this.waitServicesReady(cfg.readyTimeoutMs);
      this.checkStop();
      if (cfg.demo) {
        await scheduleDemoJobs({
          natsUrl: this.#natsUrl,
          prefix: cfg.prefix,
          demo: this.#demo,
          running: this.#plan.run.map((s) => s.name),
          log: this.log,
        });
      }
      this.checkStop();
      this.#ready = allReady;
      this.#state = 'running';
      this.writeRuntime();
      this.banner();
    } catch (err) {
      if (err instanceof StopRequested) return;
      throw err;
    }
  }

  private async startBroker(): Promise<void> {
    const cfg = this.config;
    if (cfg.natsUrl) {
      await checkExternalNats(cfg.natsUrl);
      this.#natsUrl = cfg.natsUrl;
      this.log.info('using NATS_URL; no embedded nats-server', { nats: redactUrl(cfg.natsUrl) });
      return;
    }
    const log = tagLogger(this.sink, 'nats');
    this.sink.reserveTag('nats');
    if (!cfg.natsServerBin) log.info('looking for nats-server 2.10+ (PATH, .cache, else Debian)');
    const bin = locateNatsServer(cfg.natsServerBin);
    const nats = await EmbeddedNats.prepare(
      {
        bin,
        dir: join(cfg.dataDir, 'nats'),
        port: cfg.natsPort,
        cwd: cfg.root,
        restartBaseMs: cfg.restartBaseMs,
        restartMaxMs: cfg.restartMaxMs,
      },
      {
        line: (line) => {
          const { level, msg } = parseNatsLine(line);
          // Startup banners are noise next to the services' logs: keep them at debug.
          log[level === 'info' ? 'debug' : level](msg);
        },
        exit: (e) => this.onChildExit('nats', e),
        spawnError: (err) =>
          log.error('could not start nats-server', { err: { message: err.message } }),
      },
    );
    // A stop during prepare() must not leave a server started after it.
    this.checkStop();
    this.#nats = nats;
    this.#natsUrl = nats.url;
    if (!(await nats.start())) {
      if (this.#stopping) return;
      throw new RfwError(
        `nats-server exited during startup; run it by hand to see why: ${bin} -c ${join(cfg.dataDir, 'nats', 'nats-server.conf')}`,
      );
    }
    log.info('nats-server ready', {
      url: nats.url,
      version: nats.version,
      store: join(cfg.dataDir, 'nats'),
    });
  }

  private startService(def: ServiceDef): void {
    const cfg = this.config;
    const { command, args } = serviceCommand(cfg.root, def.name);
    const proc = new ManagedProcess(
      {
        name: def.name,
        command,
        args,
        cwd: cfg.root,
        env: serviceEnv(def, {
          dataDir: cfg.dataDir,
          natsUrl: this.#natsUrl,
          prefix: cfg.prefix,
          httpHost: cfg.httpHost,
          monitorPort: cfg.monitorPort,
          topologyFile: this.#demo?.topologyFile,
          schedules: cfg.demo ? demoSchedules(this.#demo) : undefined,
        }),
        readyWhen: (line) => {
          const rec = parseRecord(line);
          if (rec?.msg !== 'service ready') return undefined;
          return typeof rec.http === 'string' ? { http: rec.http } : {};
        },
        restartBaseMs: cfg.restartBaseMs,
        restartMaxMs: cfg.restartMaxMs,
      },
      {
        line: (line) => this.sink.line(def.name, line),
        ready: (info) => {
          this.log.info(`${def.name} ready`, info);
          // Late (or restarted) services complete a system that started without them.
          if (this.#state === 'running' && !this.#ready && this.allReady()) this.#ready = true;
          this.writeRuntime();
        },
        exit: (e) => this.onChildExit(def.name, e),
        spawnError: (err) =>
          this.log.error(`could not start ${def.name}`, { err: { message: err.message } }),
      },
    );
    this.#children.set(def.name, proc);
    proc.start();
  }

  private onChildExit(
    name: string,
    e: {
      code: number | null;
      signal: NodeJS.Signals | null;
      restartInMs?: number;
      crashes: number;
    },
  ): void {
    if (this.#stopping) return;
    const how = e.signal ? `signal ${e.signal}` : `code ${e.code}`;
    if (e.restartInMs !== undefined) {
      this.log.warn(
        `${name} exited (${how}); restarting in ${(e.restartInMs / 1000).toFixed(1)}s`,
        {
          crashes: e.crashes,
        },
      );
    } else {
      this.log.error(`${name} exited (${how})`);
    }
    this.writeRuntime();
  }

  /**
   * Wait until every service said it is ready, or `timeoutMs` passed (a
   * service in a crash loop must not hide the dashboard URL): true when all are.
   */
  private async waitServicesReady(timeoutMs: number): Promise<boolean> {
    const pending = new Set(this.#children.keys());
    const ticker = setInterval(() => {
      if (pending.size && !this.#stopping)
        this.log.info('waiting for services', { pending: [...pending].join(',') });
    }, 15_000);
    let timer: NodeJS.Timeout | undefined;
    try {
      const all = Promise.all(
        [...this.#children].map(async ([name, p]) => {
          await p.waitReady();
          pending.delete(name);
        }),
      ).then(() => true);
      const late = new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
      const ok = await Promise.race([all, late]);
      if (!ok && !this.#stopping) {
        this.log.warn(
          `not ready after ${Math.round(timeoutMs / 1000)}s: ${[...pending].join(', ')}; carrying on`,
        );
      }
      return ok;
    } finally {
      clearTimeout(timer);
      clearInterval(ticker);
    }
  }

  /** True when every service is ready now. */
  private allReady(): boolean {
    return [...this.#children.values()].every((p) => p.state === 'ready');
  }

  private runtimeInfo(): RuntimeInfo {
    const services: RuntimeInfo['services'] = {};
    if (this.#nats) {
      const n = this.#nats.process;
      services.nats = { pid: n.pid, state: n.state, restarts: n.restarts };
    }
    for (const [name, p] of this.#children) {
      services[name] = {
        pid: p.pid,
        state: p.state,
        restarts: p.restarts,
        ...(typeof p.info.http === 'string' ? { http: p.info.http } : {}),
      };
    }
    return {
      natsUrl: this.#natsUrl,
      monitorUrl: this.monitorUrl,
      prefix: this.config.prefix,
      pid: process.pid,
      ready: this.#ready,
      dataDir: this.config.dataDir,
      startedAt: this.#startedAt,
      embeddedNats: this.#nats !== undefined,
      services,
      skipped: this.#plan.skipped,
      ...(this.#demo ? { topologyFile: this.#demo.topologyFile } : {}),
    };
  }

  private writeRuntime(): void {
    if (this.#stopping || !this.#natsUrl || !this.#ownsDataDir) return;
    try {
      writeRuntime(this.config.dataDir, this.runtimeInfo());
    } catch (err) {
      this.log.warn('could not write runtime.json', { err: { message: (err as Error).message } });
    }
  }

  private banner(): void {
    const monitor = this.#children.has('monitor');
    const lines = [
      `rfw is up: ${this.#children.size} service(s) running${
        Object.keys(this.#plan.skipped).length
          ? `, ${Object.keys(this.#plan.skipped).length} skipped`
          : ''
      }`,
      monitor ? `  dashboard   ${this.monitorUrl}` : '  dashboard   (monitor not running)',
      `  NATS        ${this.#natsUrl}`,
      `  data        ${this.config.dataDir}`,
      `  runtime     ${join(this.config.dataDir, 'runtime.json')}`,
      '  stop        Ctrl-C',
    ];
    this.log.info('system ready', {
      dashboard: monitor ? this.monitorUrl : undefined,
      nats: this.#natsUrl,
    });
    if (this.config.logFormat === 'pretty') process.stdout.write(`\n${lines.join('\n')}\n\n`);
  }

  /**
   * Stop the services (SIGTERM, `stopGraceMs`, SIGKILL), then the broker,
   * then remove runtime.json. Resolves with the exit code: 0 when everything
   * stopped within its grace. Safe to call twice.
   */
  stop(): Promise<number> {
    this.#stopping ??= (async () => {
      this.#state = 'stopping';
      const started = this.#children.size > 0 || this.#nats !== undefined;
      if (started) this.log.info('stopping (press Ctrl-C again to kill at once)');
      const grace = this.config.stopGraceMs;
      await Promise.all(
        [...this.#children].map(async ([name, p]) => {
          const r = await p.stop(grace);
          if (r === 'killed') this.log.warn(`${name} did not stop within ${grace} ms: killed`);
          else if (r === 'clean') this.log.info(`${name} stopped`);
        }),
      );
      if (this.#nats) {
        const r = await this.#nats.process.stop(Math.max(grace, 10_000));
        if (r === 'killed') this.log.warn('nats-server did not stop in time: killed');
        else if (r === 'clean') this.log.info('nats-server stopped');
      }
      if (this.#ownsDataDir) removeRuntime(this.config.dataDir);
      this.#state = 'stopped';
      if (started) this.log.info('stopped');
      this.#stopped();
      // A requested stop is a success even when a straggler had to be killed (it was logged).
      return 0;
    })();
    return this.#stopping;
  }

  /** Second Ctrl-C: SIGKILL every child now. */
  kill(): void {
    for (const p of this.#children.values()) p.kill();
    this.#nats?.process.kill();
    if (this.#ownsDataDir) removeRuntime(this.config.dataDir);
  }

  /** Resolves once stop() has finished. */
  stopped(): Promise<void> {
    return this.#stoppedPromise;
  }
}
