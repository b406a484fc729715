/**
 * `<data>/runtime.json`: how other programs (the `rfw` CLI, tests) find a
 * running system. Written when the broker is up, rewritten when the services
 * are ready or a child is restarted, deleted on exit. It also lists the
 * children's pids, so a run that starts after a supervisor was SIGKILLed can
 * stop the orphans it left (a second nats-server on the same store would
 * corrupt it).
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RfwError } from '@rfw/core';
import { commandLine, isAlive, killIfOurs } from './process-info.js';

/** The contract with the CLI: these four fields, plus extras it may ignore. */
export interface RuntimeInfo {
  /** The broker URL, `nats://127.0.0.1:PORT`. */
  natsUrl: string;
  /** The monitor's dashboard and admin API. */
  monitorUrl: string;
  prefix: string;
  /** The supervisor's pid. */
  pid: number;
  /** True once every started service said it is ready. */
  ready: boolean;
  dataDir: string;
  /** ISO time the supervisor started. */
  startedAt: string;
  /** Whether the broker is the embedded nats-server (false: NATS_URL). */
  embeddedNats: boolean;
  /** Running children: name -> pid, state, their HTTP URL once ready. */
  services: Record<string, { pid?: number; state: string; http?: string; restarts: number }>;
  /** Services that were not started, with why. */
  skipped: Record<string, string>;
  /** Where the demo store's topology is, when the demo is on. */
  topologyFile?: string;
}

/** Another supervisor runs on this data directory. */
export class AlreadyRunningError extends RfwError {
  constructor(
    readonly pid: number,
    readonly dataDir: string,
  ) {
    super(
      `npm start is already running on ${dataDir} (pid ${pid}). Stop it first (Ctrl-C in its terminal, or kill ${pid}), ` +
        'or use another data directory: RFW_DATA_DIR=/tmp/rfw2 npm start',
    );
  }
}

export function runtimeFilePath(dataDir: string): string {
  return join(dataDir, 'runtime.json');
}

export function readRuntime(dataDir: string): RuntimeInfo | undefined {
  try {
    return JSON.parse(readFileSync(runtimeFilePath(dataDir), 'utf8')) as RuntimeInfo;
  } catch {
    return undefined;
  }
}

/** Atomically replace runtime.json (readers never see half a file). */
export function writeRuntime(dataDir: string, info: RuntimeInfo): void {
  const file = runtimeFilePath(dataDir);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(info, null, 2)}\n`);
  renameSync(tmp, file);
}

export function removeRuntime(dataDir: string): void {
  rmSync(runtimeFilePath(dataDir), { force: true });
}

/**
 * Before starting: refuse when a live supervisor owns the data directory;
 * when the file is stale, SIGKILL the children it lists that are still
 * running (checked by command line, since pids are reused). Returns the names
 * of the orphans it stopped.
 */
export function claimDataDir(dataDir: string, markers: Record<string, string>): string[] {
  const prev = readRuntime(dataDir);
  if (!prev) return [];
  if (prev.pid !== process.pid && isAlive(prev.pid)) {
    // A reused pid is not a supervisor: only a node process running start.mjs or the supervisor counts.
    const cmd = commandLine(prev.pid);
    if (cmd === undefined || /start\.mjs|supervisor/.test(cmd))
      throw new AlreadyRunningError(prev.pid, dataDir);
  }
  const killed: string[] = [];
  for (const [name, s] of Object.entries(prev.services ?? {})) {
    const marker = markers[name];
    if (s.pid && marker && killIfOurs(s.pid, marker)) killed.push(name);
  }
  removeRuntime(dataDir);
  return killed;
}
