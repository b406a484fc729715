import { connect } from '@nats-io/transport-node';
import type { ConnectionOptions, NatsConnection } from '@nats-io/nats-core';

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

export interface ConnectOptions {
  /** NATS servers. @default `NATS_URL` or `nats://127.0.0.1:4222` */
  servers?: string | string[];
  /** Connection name shown by the server. */
  name?: string;
  /** Extra options passed to the NATS client. */
  nats?: Partial<ConnectionOptions>;
}

/** Connect with reconnects forever: a job system should ride out broker restarts. */
export async function connectNats(opts: ConnectOptions = {}): Promise<NatsConnection> {
  const servers = opts.servers ?? defaultServers();
  return connect({
    servers,
    name: opts.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    ...opts.nats,
  });
}
