/**
 * This instance's heartbeat in the nodes bucket, and what it learns from the
 * others' (how many live instances share each type's rate limit).
 */
import { hostname } from 'node:os';
import {
  bucketKeys,
  ensureBucket,
  nodesBucketOptions,
  decodeJson,
  encodeJson,
  type CoreContext,
  type NodeHeartbeat,
} from '@rfw/core/internal';
import type { KV } from '@nats-io/kv';

export const RUNTIME_VERSION = '0.1.0';

export async function openNodesBucket(core: CoreContext, replicas = 1): Promise<KV> {
  return ensureBucket(core.nc, core.jsm, core.names.nodesBucket, {
    ...nodesBucketOptions,
    replicas,
  });
}

/** Heartbeats of nodes seen within 3 of their own intervals. */
export async function liveNodes(kv: KV, now = Date.now()): Promise<NodeHeartbeat[]> {
  const out: NodeHeartbeat[] = [];
  const keys = await bucketKeys(kv);
  await Promise.all(
    keys.map(async (k) => {
      const e = await kv.get(k);
      if (!e || e.operation !== 'PUT') return;
      try {
        const hb = decodeJson<NodeHeartbeat>(e.value);
        if (now - hb.at <= 3 * hb.heartbeatIntervalMs) out.push(hb);
      } catch {
        // not a heartbeat: ignore
      }
    }),
  );
  return out.sort((a, b) => a.nodeId.localeCompare(b.nodeId));
}

export function makeHeartbeat(
  fields: Omit<NodeHeartbeat, 'v' | 'version' | 'host' | 'pid' | 'at'>,
): NodeHeartbeat {
  return {
    v: 1,
    version: RUNTIME_VERSION,
    host: hostname(),
    pid: process.pid,
    at: Date.now(),
    ...fields,
  };
}

export async function writeHeartbeat(kv: KV, hb: NodeHeartbeat): Promise<void> {
  await kv.put(hb.nodeId, encodeJson(hb));
}
