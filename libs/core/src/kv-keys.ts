/**
 * Listing the keys of a KV bucket from its stream's per-subject counts: one
 * request (paged by the client). `kv.keys()` is not used: with nats.js v3 and
 * nats-server 2.9 it can wait forever on a bucket whose keys are rewritten
 * often (heartbeats, leases), because the message it counted on is replaced
 * before it is delivered (seen 14 times in 100 on a key updated every 20 ms).
 */
import type { Bucket, KV } from '@nats-io/kv';

/**
 * Keys of `kv` matching `filter` (NATS wildcards, e.g. `paused.>`). May include
 * keys whose last operation is a delete or purge: `get()` tells.
 */
export async function bucketKeys(kv: KV, filter = '>'): Promise<string[]> {
  const b = kv as Bucket;
  const prefix = `$KV.${b.bucket}.`;
  const info = await b.jsm.streams.info(b.stream, { subjects_filter: prefix + filter });
  return Object.keys(info.state.subjects ?? {})
    .map((s) => s.slice(prefix.length))
    .sort();
}
