/**
 * The leader lease: the value of `<prefix>_leader.<role>`, and how a node
 * opens the buckets of the coordination layer.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { ConfigError, Names, decodeJson, ensureBucket } from '@rfw/core/internal';

/** Value of `<prefix>_leader.<role>`, rewritten by its holder on every renewal. */
export interface LeaseRecord {
  v: 1;
  role: string;
  /** nodeId of the holder. */
  holder: string;
  /** Random id of the holding process: proves a lease was written by this very process. */
  leaseId: string;
  /** The holder's lease length, ms: a lease not renewed for this long is free to take. */
  leaseMs: number;
  /** When the holder acquired the lease (its clock), ms since the epoch. */
  acquiredAt: number;
  /** When the holder wrote this renewal (its clock), ms since the epoch. */
  renewedAt: number;
  /**
   * `renewedAt + leaseMs` by the holder's clock. Informational: candidates
   * judge expiry on their own monotonic clock (the revision did not change
   * for `leaseMs`), so clock skew between nodes never shortens a lease.
   */
  expiresAt: number;
}

/** Roles are KV keys and metric labels: lowercase letters, digits, `-` and `_`. */
export const ROLE_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** Node ids are KV keys: letters, digits, `-` and `_`. */
export const NODE_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

export function validateRole(role: unknown): string {
  if (typeof role !== 'string' || !ROLE_PATTERN.test(role))
    throw new ConfigError('role', `${JSON.stringify(role)} must match ${ROLE_PATTERN.source}`);
  return role;
}

export function validateNodeId(nodeId: unknown): string {
  if (typeof nodeId !== 'string' || !NODE_ID_PATTERN.test(nodeId))
    throw new ConfigError(
      'nodeId',
      `${JSON.stringify(nodeId)} must match ${NODE_ID_PATTERN.source}`,
    );
  return nodeId;
}

export function validateMs(field: string, v: unknown, def: number, min: number): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw new ConfigError(field, `${String(v)} must be an integer number of ms >= ${min}`);
  return v;
}

/** Parse a lease value; `undefined` for anything that is not one. */
export function parseLease(data: Uint8Array): LeaseRecord | undefined {
  try {
    const l = decodeJson<Partial<LeaseRecord>>(data);
    if (
      l &&
      typeof l.holder === 'string' &&
      typeof l.leaseId === 'string' &&
      typeof l.leaseMs === 'number'
    )
      return l as LeaseRecord;
  } catch {
    // not JSON
  }
  return undefined;
}

/**
 * Create (idempotently) a coordination bucket and open a handle on it whose
 * requests time out after `timeoutMs`, so a lost server cannot stall a renewal
 * past its lease.
 */
export async function openCoordinationBucket(
  nc: NatsConnection,
  name: string,
  opts: { history?: number; ttlMs?: number; replicas?: number; timeoutMs: number },
): Promise<KV> {
  await ensureBucket(nc, await jetstreamManager(nc), name, opts);
  return new Kvm(jetstream(nc, { timeout: opts.timeoutMs })).open(name);
}

export function leaderBucketName(prefix = 'rfw'): string {
  return new Names(prefix).leaderBucket;
}

/** A monotonic clock in ms: wall-clock jumps never shorten or stretch a lease. */
export function monotonicNow(): number {
  return performance.now();
}
