/**
 * Prometheus gauges of the storage nodes, fed from the snapshots in the KV
 * bucket (a watch), so every metrics instance exposes every node, whichever
 * instance collected it.
 */
import type { KV } from '@nats-io/kv';
import type { Logger } from '@rfw/core';
import { Gauge, type Registry } from 'prom-client';
import type { StorageNodeSnapshot } from './snapshot.js';

export class StorageGauges {
  readonly capacity: Gauge<'node'>;
  readonly free: Gauge<'node'>;
  readonly used: Gauge<'node'>;
  readonly objects: Gauge<'node' | 'bucket'>;
  readonly bytes: Gauge<'node' | 'bucket'>;
  readonly online: Gauge<'node'>;
  readonly canary: Gauge<'node' | 'op'>;
  readonly collectedAt: Gauge<'node'>;
  private readonly bucketsOf = new Map<string, Set<string>>();

  constructor(registry?: Registry) {
    const registers = registry ? [registry] : [];
    const g = <L extends string>(name: string, help: string, labelNames: L[]) =>
      new Gauge<L>({ name, help, labelNames, registers });
    this.capacity = g('rfw_storage_capacity_bytes', 'Total capacity of a storage node, bytes', [
      'node',
    ]);
    this.free = g('rfw_storage_free_bytes', 'Free space of a storage node, bytes', ['node']);
    this.used = g('rfw_storage_used_bytes', 'Used space of a storage node, bytes', ['node']);
    this.objects = g('rfw_storage_objects', 'Objects per node and bucket', ['node', 'bucket']);
    this.bytes = g('rfw_storage_bucket_bytes', 'Bytes of objects per node and bucket', [
      'node',
      'bucket',
    ]);
    this.online = g('rfw_storage_online', '1 when the node answered its last check, 0 when not', [
      'node',
    ]);
    this.canary = g('rfw_storage_canary_latency_seconds', 'Latency of the canary put/get/delete', [
      'node',
      'op',
    ]);
    this.collectedAt = g(
      'rfw_storage_collected_timestamp_seconds',
      'When the node was last measured (unix seconds)',
      ['node'],
    );
  }

  /** Sets every gauge of a node from its snapshot. */
  apply(s: StorageNodeSnapshot): void {
    const node = s.node;
    this.online.set({ node }, s.online ? 1 : 0);
    this.collectedAt.set({ node }, s.collectedAt / 1000);
    if (s.capacity) {
      this.capacity.set({ node }, s.capacity.totalBytes);
      this.free.set({ node }, s.capacity.freeBytes);
      this.used.set({ node }, s.capacity.usedBytes);
    } else if (!s.online) {
      this.free.remove({ node });
      this.used.remove({ node });
    }
    // An offline node's object counts are unknown: keep the last known ones.
    if (s.online) {
      const seen = new Set(s.buckets.map((b) => b.bucket));
      for (const b of this.bucketsOf.get(node) ?? []) {
        if (!seen.has(b)) {
          this.objects.remove({ node, bucket: b });
          this.bytes.remove({ node, bucket: b });
        }
      }
      for (const b of s.buckets) {
        this.objects.set({ node, bucket: b.bucket }, b.objects);
        this.bytes.set({ node, bucket: b.bucket }, b.bytes);
      }
      this.bucketsOf.set(node, seen);
    }
    for (const op of ['put', 'get', 'delete'] as const) {
      const ms = s.canary?.ok ? s.canary[`${op}Ms`] : undefined;
      if (ms === undefined) this.canary.remove({ node, op });
      else this.canary.set({ node, op }, ms / 1000);
    }
  }

  /** Removes every series of a node (its snapshot was deleted). */
  forget(node: string): void {
    for (const g of [this.capacity, this.free, this.used, this.online, this.collectedAt])
      g.remove({ node });
    for (const b of this.bucketsOf.get(node) ?? []) {
      this.objects.remove({ node, bucket: b });
      this.bytes.remove({ node, bucket: b });
    }
    this.bucketsOf.delete(node);
    for (const op of ['put', 'get', 'delete']) this.canary.remove({ node, op });
  }

  /** Follows the KV bucket until `stop()`. */
  async follow(kv: KV, log: Logger): Promise<{ stop(): void }> {
    const iter = await kv.watch();
    void (async () => {
      for await (const e of iter) {
        try {
          if (e.operation === 'PUT') this.apply(e.json<StorageNodeSnapshot>());
          else this.forget(e.key);
        } catch (err) {
          log.warn({ err, key: e.key }, 'unreadable storage metrics snapshot');
        }
      }
    })();
    return { stop: () => iter.stop() };
  }
}
