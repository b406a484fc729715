/**
 * Helpers for the deploy checks: run nats-server on the real config files of
 * deploy/nats (copied to a temp dir, with env vars for ports, store dirs and
 * passwords), and find the files of deploy/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findNatsServer } from '@rfw/testkit';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DEPLOY = join(ROOT, 'deploy');

/** Every file under deploy/ with one of these extensions, relative to the repo root. */
export function deployFiles(...exts: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (exts.some((e) => name.endsWith(e))) out.push(relative(ROOT, p));
    }
  };
  walk(DEPLOY);
  return out.sort();
}

/** The password variables accounts.conf refers to. */
export function passwordVars(): string[] {
  const text = readFileSync(join(DEPLOY, 'nats', 'accounts.conf'), 'utf8');
  return [...new Set(text.match(/RFW_NATS_PASS_[A-Z0-9_]+/g) ?? [])].sort();
}

/** Test passwords: one per user, derived from the variable name, so another user's password never works. */
export function passwordEnv(): Record<string, string> {
  return Object.fromEntries(passwordVars().map((v) => [v, `pw-${v.toLowerCase()}`]));
}

export function passwordOf(user: string): string {
  return `pw-rfw_nats_pass_${user.replace(/[^a-zA-Z0-9]/g, '_').toLowerCase()}`;
}

export interface RunningNats {
  proc: ChildProcess;
  log: () => string;
  stop(): Promise<void>;
}

/**
 * Start nats-server on `deploy/nats/<conf>` (copied with accounts.conf into a
 * temp dir) with `env`; resolves once it logs "Server is ready".
 */
export async function startNatsFromDeploy(
  conf: string,
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<RunningNats> {
  const dir = mkdtempSync(join(tmpdir(), 'rfw-deploy-nats-'));
  for (const f of [conf, 'accounts.conf']) copyFileSync(join(DEPLOY, 'nats', f), join(dir, f));
  const proc = spawn(findNatsServer(), ['-c', join(dir, conf)], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      ...passwordEnv(),
      ...env,
      NATS_STORE_DIR: env.NATS_STORE_DIR || join(dir, 'store'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`nats-server not ready:\n${log.slice(-3000)}`)),
      timeoutMs,
    );
    const onData = (b: Buffer): void => {
      log += b.toString();
      if (log.includes('Server is ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited (${code}) before ready:\n${log.slice(-3000)}`));
    });
  });
  return {
    proc,
    log: () => log,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
