import type { Topology } from '@rfw/storage';

/**
 * The health check of the storage workers: healthy while at least one storage
 * node answers a ping within `timeoutMs` (per-node trouble is the breakers'
 * business).
 */
export async function anyNodeUp(topology: Topology, timeoutMs = 5000): Promise<boolean> {
  const pings = [...topology.nodes.values()].map((s) =>
    Promise.race([
      s.ping().then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs).unref()),
    ]).catch(() => false),
  );
  return (await Promise.all(pings)).some(Boolean);
}
