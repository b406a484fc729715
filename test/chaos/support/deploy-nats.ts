/**
 * A nats-server running the shipped configuration, `deploy/nats/standalone.conf`
 * with `accounts.conf` (copied to a temporary directory, ports and store from
 * the environment, one test password per user), so permissions are the ones
 * a real installation gets.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { findNatsServer, freePorts } from '@rfw/testkit';
import { repoRoot, scratchDir } from './paths.js';

export interface DeployNats {
  port: number;
  /** A URL carrying `user`'s credentials (for `connectNats`, which retries the first connect). */
  urlFor(user: string): string;
  /** Connection options for `user` (the NATS client ignores URL credentials on its first connect). */
  optsFor(user: string): { servers: string; user: string; pass: string };
  /** Everything the server logged (permission violations are logged). */
  log(): string;
  stop(): Promise<void>;
}

/** The password the test gives `user` (distinct per user, so another's never works). */
export function passwordOf(user: string): string {
  return `pw-${user.replace(/[^A-Za-z0-9]/g, '-')}-chaos`;
}

export async function startDeployNats(): Promise<DeployNats> {
  const dir = scratchDir('deploy-nats');
  for (const f of ['standalone.conf', 'accounts.conf'])
    copyFileSync(join(repoRoot, 'deploy', 'nats', f), join(dir, f));
  const accounts = readFileSync(join(dir, 'accounts.conf'), 'utf8');
  const env: Record<string, string> = {};
  for (const m of accounts.matchAll(/user:\s*"([^"]+)"\s*\n\s*password:\s*\$(RFW_NATS_PASS_\w+)/g))
    env[m[2] as string] = passwordOf(m[1] as string);
  const [port, http] = (await freePorts(2)) as [number, number];
  const proc = spawn(findNatsServer(), ['-c', join(dir, 'standalone.conf')], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      ...env,
      NATS_SERVER_NAME: 'chaos-perms',
      NATS_LISTEN: `127.0.0.1:${port}`,
      NATS_HTTP: `127.0.0.1:${http}`,
      NATS_STORE_DIR: join(dir, 'store'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server not ready:\n${log}`)), 30_000);
    const onData = (b: Buffer): void => {
      log += b.toString();
      if (log.includes('Server is ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    void exited.then(() => reject(new Error(`nats-server exited:\n${log}`)));
  });
  return {
    port,
    urlFor: (user) =>
      `nats://${encodeURIComponent(user)}:${encodeURIComponent(passwordOf(user))}@127.0.0.1:${port}`,
    optsFor: (user) => ({ servers: `127.0.0.1:${port}`, user, pass: passwordOf(user) }),
    log: () => log,
    stop: async () => {
      proc.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
