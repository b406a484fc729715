/**
 * One NATS connection and `JobQueue` per CLI run, opened on first use so that
 * usage errors never wait for the network.
 */
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { JobQueue, Names, checkServerVersion } from '@rfw/core';
import { describeServers, type Target } from './config.js';
import { UnreachableError } from './errors.js';

export interface SessionOptions {
  /** How long the first connection may take, ms. @default 5000 */
  connectTimeoutMs?: number;
  /** How long to keep reconnecting after the connection drops, ms. @default 30000 */
  reconnectForMs?: number;
}

const RECONNECT_WAIT_MS = 500;

export class Session {
  #nc?: Promise<NatsConnection>;
  #queue?: Promise<JobQueue>;
  #lost?: Promise<never>;
  readonly names: Names;

  constructor(
    readonly target: Target,
    private readonly options: SessionOptions = {},
  ) {
    this.names = new Names(target.prefix);
  }

  /** The connection; throws `UnreachableError` (exit 3) when NATS cannot be reached. */
  connection(): Promise<NatsConnection> {
    this.#nc ??= (async () => {
      const reconnectFor = this.options.reconnectForMs ?? 30_000;
      let nc: NatsConnection;
      try {
        nc = await connect({
          servers: this.target.servers,
          name: 'rfw-cli',
          timeout: this.options.connectTimeoutMs ?? 5000,
          maxReconnectAttempts: Math.max(1, Math.ceil(reconnectFor / RECONNECT_WAIT_MS)),
          reconnectTimeWait: RECONNECT_WAIT_MS,
        });
      } catch (err) {
        throw new UnreachableError(
          `cannot reach NATS at ${describeServers(this.target)}: ${(err as Error).message}`,
          { cause: err },
        );
      }
      await checkServerVersion(nc);
      return nc;
    })();
    return this.#nc;
  }

  /**
   * The job queue of the installation. It creates streams and buckets that are
   * missing but never rewrites an existing installation's settings.
   */
  queue(): Promise<JobQueue> {
    this.#queue ??= (async () => {
      const connection = await this.connection();
      return JobQueue.connect({
        connection,
        prefix: this.target.prefix,
        provision: { onDrift: 'ignore' },
      });
    })();
    return this.#queue;
  }

  /**
   * Rejects with `UnreachableError` once the connection closes for good (the
   * reconnect budget spent); never resolves. Race long waits against it.
   */
  lost(): Promise<never> {
    this.#lost ??= (async () => {
      const nc = await this.connection();
      const err = await nc.closed();
      throw new UnreachableError(
        `lost the connection to NATS at ${this.target.servers.join(', ')}${err ? `: ${err.message}` : ''}`,
      );
    })();
    // Nobody may be listening; do not let that surface as an unhandled rejection.
    this.#lost.catch(() => undefined);
    return this.#lost;
  }

  /** Close everything opened. Safe to call twice. */
  async close(): Promise<void> {
    const nc = this.#nc ? await this.#nc.catch(() => undefined) : undefined;
    if (this.#queue) await (await this.#queue.catch(() => undefined))?.close();
    if (nc && !nc.isClosed()) {
      try {
        await nc.drain();
      } catch {
        await nc.close();
      }
    }
  }
}
