import { connect } from '@nats-io/transport-node';
import type { ConnectionOptions, NatsConnection } from '@nats-io/nats-core';
import { UnsupportedServerError } from './errors.js';
import './nats-client-patches.js';

/** The oldest nats-server the project supports. */
export const MIN_SERVER_VERSION = '2.10.0';

/** The broker URL: `NATS_URL`, else the local default. */
export function defaultServers(): string[] {
  const env = process.env.NATS_URL;
  return env
    ? env
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : ['nats://127.0.0.1:4222'];
}

/** How to reach NATS. */
export interface ConnectOptions {
  /** NATS servers. @default `NATS_URL` or `nats://127.0.0.1:4222` */
  servers?: string | string[];
  /** Connection name shown by the server. */
  name?: string;
  /** Extra options passed to the NATS client. */
  nats?: Partial<ConnectionOptions>;
}

/**
 * Credentials for the connection: written into a server URL
 * (`nats://user:password@host:4222`, or `nats://token@host:4222`), which the
 * NATS client itself ignores, or from `NATS_USER` + `NATS_PASSWORD` /
 * `NATS_TOKEN`. URLs are returned without them.
 */
function splitCredentials(
  servers: string[],
  env: NodeJS.ProcessEnv,
): { servers: string[]; auth: Partial<ConnectionOptions> } {
  let user: string | undefined;
  let pass: string | undefined;
  const clean = servers.map((s) => {
    const m = /^([a-z][a-z0-9+.-]*:\/\/)([^@/]+)@(.+)$/i.exec(s);
    if (!m) return s;
    const [u = '', p] = (m[2] ?? '').split(':');
    user ??= decodeURIComponent(u);
    pass ??= p === undefined ? undefined : decodeURIComponent(p);
    return `${m[1]}${m[3]}`;
  });
  if (user !== undefined) {
    return { servers: clean, auth: pass === undefined ? { token: user } : { user, pass } };
  }
  if (env.NATS_USER)
    return { servers: clean, auth: { user: env.NATS_USER, pass: env.NATS_PASSWORD ?? '' } };
  if (env.NATS_TOKEN) return { servers: clean, auth: { token: env.NATS_TOKEN } };
  return { servers: clean, auth: {} };
}

/**
 * Refuse a server older than `MIN_SERVER_VERSION`: closes the connection and
 * throws `UnsupportedServerError` naming the version.
 */
export async function checkServerVersion(nc: NatsConnection): Promise<void> {
  if (serverAtLeast(nc, MIN_SERVER_VERSION)) return;
  // Read before closing: a closed connection forgets the server's info.
  const version = nc.info?.version || 'unknown';
  await nc.close().catch(() => undefined);
  throw new UnsupportedServerError(version, MIN_SERVER_VERSION, nc.getServer());
}

/** Whether the connected server's version is `min` (`<major>.<minor>[.<patch>]`) or newer, by major and minor. */
export function serverAtLeast(nc: NatsConnection, min: string): boolean {
  const [major = 0, minor = 0] = (nc.info?.version ?? '')
    .split('.')
    .map((n) => Number.parseInt(n, 10));
  const [minMajor = 0, minMinor = 0] = min.split('.').map(Number);
  return major > minMajor || (major === minMajor && minor >= minMinor);
}

/**
 * Connect with reconnects forever (a job system should ride out broker
 * restarts). Throws `UnsupportedServerError` for a server older than 2.10.
 */
export async function connectNats(opts: ConnectOptions = {}): Promise<NatsConnection> {
  const list = opts.servers ?? defaultServers();
  const { servers, auth } = splitCredentials(Array.isArray(list) ? list : [list], process.env);
  const nc = await connect({
    servers: Array.isArray(list) ? servers : servers[0],
    name: opts.name,
    maxReconnectAttempts: -1,
    // Stack traces captured per request cost ~20% of CPU on the job hot path (measured in the bench).
    noAsyncTraces: true,
    reconnectTimeWait: 250,
    ...auth,
    ...opts.nats,
  });
  await checkServerVersion(nc);
  return nc;
}
