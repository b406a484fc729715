/**
 * In-process A/B of the resync's copy path: one fixed 3-node store (the
 * storage bench's generator and seed, no faults), node 3's bucket removed
 * before every run, then the resync's loop without NATS (merged walk of the
 * 3 nodes in pages, plan, `copyInline` 8 objects at a time, no indexer
 * notices) with the code of the working tree and with the code of a git
 * ref, alternating which goes first every round. Each round also times
 * `cp -r` of node 1's bucket (the full bench's limit) for a ratio.
 *
 *   node --conditions=source --import tsx test/bench/storage/resync-ab.ts \
 *       [--objects 5000] [--rounds 6] [--old HEAD] [--dir /tmp] [--concurrency 8]
 *       [--old-concurrency N]
 *
 * The old code is `git archive <ref>` of libs/storage, libs/storage-sync and
 * services/worker-replication, extracted under the work dir with a
 * node_modules whose `@rfw/storage` and `@rfw/storage-sync` point at the
 * extracted copies (everything else at the workspace's). Exits 1 when a run
 * leaves node 3 without every object.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { benchStore } from './faults.js';
import { metadataWalk, plainCopy, timed } from './limits.js';

const { values } = parseArgs({
  options: {
    objects: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '6' },
    old: { type: 'string', default: 'HEAD' },
    dir: { type: 'string', default: os.tmpdir() },
    concurrency: { type: 'string', default: '8' },
    'old-concurrency': { type: 'string' },
  },
  strict: true,
});
const objects = Number(values.objects);
const rounds = Number(values.rounds);
const repo = path.resolve(import.meta.dirname, '../../..');
const PARTS = ['libs/storage', 'libs/storage-sync', 'services/worker-replication'];

const work = await fs.mkdtemp(path.join(values.dir, 'rfw-resync-ab-'));

/** Extracts the old code and links its own `@rfw/storage*` packages. */
async function extractOld(ref: string): Promise<string> {
  const root = path.join(work, 'old');
  await fs.mkdir(root);
  const tar = execFileSync('git', ['-C', repo, 'archive', ref, ...PARTS], {
    maxBuffer: 1 << 30,
  });
  execFileSync('tar', ['-x', '-C', root], { input: tar });
  const nm = path.join(root, 'node_modules');
  await fs.mkdir(path.join(nm, '@rfw'), { recursive: true });
  for (const e of await fs.readdir(path.join(repo, 'node_modules'))) {
    if (e === '@rfw') continue;
    await fs.symlink(path.join(repo, 'node_modules', e), path.join(nm, e));
  }
  for (const e of await fs.readdir(path.join(repo, 'node_modules', '@rfw'))) {
    const own = { storage: 'libs/storage', 'storage-sync': 'libs/storage-sync' }[e];
    await fs.symlink(
      own ? path.join(root, own) : path.join(repo, 'node_modules', '@rfw', e),
      path.join(nm, '@rfw', e),
    );
  }
  return root;
}

interface Variant {
  name: string;
  run(topologyFile: string): Promise<{ copied: number; leftover: number }>;
}

async function load(name: string, root: string, concurrency: number): Promise<Variant> {
  const imp = (p: string) => import(pathToFileURL(path.join(root, p)).href);
  const storage = await imp('libs/storage/src/index.ts');
  const sync = await imp('libs/storage-sync/src/index.ts');
  const inline = await imp('services/worker-replication/src/inline-copy.ts');
  const logger = {
    info: (o: unknown, m: string) => process.env.AB_LOG && console.error(m, JSON.stringify(o)),
    warn() {},
    debug() {},
    error() {},
  };
  return {
    name,
    async run(topologyFile) {
      const topology = await storage.loadTopologyFile(topologyFile);
      const stores = [...topology.nodes.values()];
      const guard = (_n: string, fn: () => Promise<unknown>) => fn();
      const signal = new AbortController().signal;
      let copied = 0;
      let leftover = 0;
      const pages = sync.prefetch(
        sync.walkBucket({ stores, bucket: 'data', pageSize: 500, list: sync.listOrEmpty }),
      );
      for await (const page of pages as AsyncIterable<
        { key: string; replicas: Map<string, { versionId: string }> }[]
      >) {
        const planned = [];
        for (const entry of page) {
          const latest = sync.newest(entry.replicas.values());
          const targets = topology
            .replicasFor('data', entry.key)
            .filter((n: string) => !entry.replicas.has(n));
          if (!targets.length) continue;
          const sources = [...entry.replicas.keys()];
          planned.push({
            key: entry.key,
            versionId: latest.versionId,
            version: latest,
            sources,
            targets,
          });
        }
        const r = await inline.copyInline(planned, {
          topology,
          guard,
          bucket: 'data',
          concurrency,
          signal,
          logger,
        });
        copied += r.copied;
        leftover += r.leftover.length;
      }
      await topology.close?.();
      return { copied, leftover };
    },
  };
}

const manifest = await benchStore(path.join(work, 'store'), objects, 0);
const topologyFile = path.join(work, 'store', 'topology.json');
const roots = manifest.nodes.map((n) => n.root);
const empty = path.join(roots[2] as string, 'data');
const variants = [
  await load('new', repo, Number(values.concurrency)),
  await load(
    'old',
    await extractOld(values.old),
    Number(values['old-concurrency'] ?? values.concurrency),
  ),
];
const times: Record<string, number[]> = { new: [], old: [], cp: [] };
let failed = false;
// Warm the page cache and both module graphs.
await metadataWalk(roots.map((r) => path.join(r, 'data')));
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? variants : [...variants].reverse();
  const line: string[] = [`round ${round + 1}`];
  const cpTo = path.join(work, 'cp');
  const cp = await timed(() => plainCopy(path.join(roots[0] as string, 'data'), cpTo));
  await fs.rm(cpTo, { recursive: true, force: true });
  times.cp?.push(cp.ms);
  line.push(`cp ${(cp.ms / 1000).toFixed(2)} s`);
  for (const v of order) {
    await fs.rm(empty, { recursive: true, force: true });
    const r = await timed(() => v.run(topologyFile));
    const onEmpty = await metadataWalk([empty]);
    if (onEmpty !== objects || r.value.copied !== objects) {
      failed = true;
      line.push(`${v.name} FAILED (${onEmpty} on node 3, ${JSON.stringify(r.value)})`);
    }
    times[v.name]?.push(r.ms);
    line.push(`${v.name} ${(r.ms / 1000).toFixed(2)} s (${((cp.ms / r.ms) * 100).toFixed(1)}%)`);
  }
  console.log(line.join(', '));
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? (s[(s.length - 1) / 2] as number)
    : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
const faster = (times.new ?? []).filter((t, i) => t < (times.old?.[i] ?? Infinity)).length;
const m = {
  new: median(times.new ?? []),
  old: median(times.old ?? []),
  cp: median(times.cp ?? []),
};
console.log(
  `median: cp ${(m.cp / 1000).toFixed(2)} s, old ${(m.old / 1000).toFixed(2)} s (${((m.cp / m.old) * 100).toFixed(1)}%), ` +
    `new ${(m.new / 1000).toFixed(2)} s (${((m.cp / m.new) * 100).toFixed(1)}%); new faster in ${faster} of ${rounds} rounds; old/new ${(m.old / m.new).toFixed(2)}x`,
);
await fs.rm(work, { recursive: true, force: true });
if (failed) process.exit(1);
