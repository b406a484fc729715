/** `rfw nodes`: live worker nodes (heartbeats) and leader leases. */
import { Command } from 'commander';
import { JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import { bucketKeys, decodeJson, type NodeHeartbeat } from '@rfw/core/internal';
import type { CommandContext } from '../context.js';
import { ago, compactJson, duration } from '../output.js';
import type { Registrar } from '../program.js';

/** A leader lease as stored in `<prefix>_leader`, with its holder picked out. */
export interface LeaderView {
  role: string;
  /** The node holding the lease, when the value names one. */
  holder?: string;
  /** The stored value (parsed JSON, or the raw text). */
  value: unknown;
  revision: number;
  /** When the lease was last written, ms since the epoch. */
  writtenAt: number;
}

export function registerNodes(program: Command, r: Registrar): void {
  r.leaf<object>(
    program
      .command('nodes')
      .description('live worker nodes (from their heartbeats) and who leads each role'),
    nodes,
  );
}

/** Bind to an existing bucket; `undefined` when nobody created it yet (this never creates one). */
async function openExisting(nc: NatsConnection, bucket: string): Promise<KV | undefined> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.streams.info(`KV_${bucket}`);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === 10059) return undefined;
    throw err;
  }
  return new Kvm(nc).open(bucket);
}

function holderOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  for (const k of ['holder', 'holderId', 'nodeId', 'node', 'leader', 'id']) {
    if (typeof v[k] === 'string') return v[k];
  }
  return undefined;
}

async function readLeaders(kv: KV): Promise<LeaderView[]> {
  const keys = await bucketKeys(kv);
  const out: LeaderView[] = [];
  for (const role of keys.sort()) {
    const e = await kv.get(role);
    if (!e || e.operation !== 'PUT') continue;
    let value: unknown;
    try {
      value = decodeJson<unknown>(e.value);
    } catch {
      value = e.string();
    }
    out.push({
      role,
      holder: holderOf(value),
      value,
      revision: e.revision,
      writtenAt: e.created.getTime(),
    });
  }
  return out;
}

async function nodes(ctx: CommandContext): Promise<void> {
  const session = ctx.session();
  const nc = await session.connection();
  const [nodesKv, leaderKv] = await Promise.all([
    openExisting(nc, session.names.nodesBucket),
    openExisting(nc, session.names.leaderBucket),
  ]);
  // Loaded here: the worker runtime is heavy and only this command needs it.
  const live: NodeHeartbeat[] = nodesKv
    ? await (await import('@rfw/worker/internal')).liveNodes(nodesKv)
    : [];
  const leaders = leaderKv ? await readLeaders(leaderKv) : [];
  if (ctx.out.json) {
    ctx.out.data({ nodes: live, leaders });
    return;
  }
  const { out } = ctx;
  const now = Date.now();
  out.table(
    ['NODE', 'HOST', 'PID', 'TYPES', 'LOAD', 'ROLES', 'HELD', 'UP', 'SEEN', 'VERSION'],
    live.map((n) => [
      n.nodeId,
      n.host,
      n.pid,
      n.types.join(',') || undefined,
      `${n.inFlight}/${n.capacity}`,
      n.roles.join(',') || undefined,
      Object.entries(n.held ?? {})
        .map(([type, reasons]) => `${type}(${reasons.join(',')})`)
        .join(' ') || undefined,
      duration(now - n.startedAt),
      ago(n.at, now),
      n.version,
    ]),
    '(no live nodes)',
  );
  out.line();
  out.line('leaders:');
  out.table(
    ['ROLE', 'HOLDER', 'SINCE', 'RENEWED', 'EXPIRES', 'VALUE'],
    leaders.map((l) => {
      const v = (typeof l.value === 'object' && l.value !== null ? l.value : {}) as Record<
        string,
        unknown
      >;
      const num = (k: string): number | undefined => (typeof v[k] === 'number' ? v[k] : undefined);
      const known = [
        'v',
        'role',
        'holder',
        'leaseId',
        'leaseMs',
        'acquiredAt',
        'renewedAt',
        'expiresAt',
      ];
      const rest = Object.fromEntries(Object.entries(v).filter(([k]) => !known.includes(k)));
      return [
        l.role,
        l.holder,
        ago(num('acquiredAt'), now),
        ago(num('renewedAt') ?? l.writtenAt, now),
        ago(num('expiresAt'), now),
        typeof l.value === 'object' && l.value !== null
          ? Object.keys(rest).length > 0
            ? compactJson(rest, 60)
            : undefined
          : compactJson(l.value, 60),
      ];
    }),
    '(no leaders)',
  );
}
