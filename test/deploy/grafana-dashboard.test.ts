/**
 * The Grafana dashboard against the code: every panel's PromQL names metrics
 * (and `by (...)` labels) that a real `WorkerMetrics` or monitor
 * `ClusterMetrics` registry holds, panel ids are unique, and every panel and
 * target uses the one Prometheus datasource Grafana provisions.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { Registry } from 'prom-client';
import { WorkerMetrics } from '@rfw/worker/internal';
import { ClusterMetrics } from '@rfw/service-monitor';
import { ROOT } from './helpers.js';

interface Target {
  refId: string;
  expr: string;
  datasource?: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets: Target[];
}

const read = (f: string): string => readFileSync(join(ROOT, f), 'utf8');
const dashboard = JSON.parse(read('deploy/grafana/dashboards/rustfs-workers.json')) as {
  panels: Panel[];
};
/** Metrics of nats-server's exporter (prometheus-nats-exporter), scraped beside ours. */
const NATS_EXPORTER = /^nats_varz_[a-z_]+$/;

interface Known {
  labels: Set<string>;
  histogram: boolean;
}

/** Name -> label names of every metric in the registries, with each histogram's series names. */
async function registered(...registries: Registry[]): Promise<Map<string, Known>> {
  const out = new Map<string, Known>();
  for (const reg of registries) {
    for (const m of reg.getMetricsAsArray()) {
      const { type } = m;
      const labels = new Set<string>([
        ...((m as unknown as { labelNames?: string[] }).labelNames ?? []),
        // Default labels: the instance's id.
        'worker_id',
        'monitor',
      ]);
      const histogram = String(type) === 'histogram';
      out.set(m.name, { labels, histogram });
      if (histogram) {
        for (const s of ['_bucket', '_sum', '_count'])
          out.set(`${m.name}${s}`, { labels: new Set([...labels, 'le']), histogram });
      }
    }
  }
  return out;
}

async function knownMetrics(): Promise<Map<string, Known>> {
  const worker = new WorkerMetrics({ worker_id: 'w' }, true);
  // The monitor's registry, on an empty cluster: its constructor registers every metric.
  const tracker = { counts: { byQueue: () => new Map() }, sweeps: () => [] };
  const cluster = new ClusterMetrics(
    {
      snapshot: () => undefined,
      tracker: tracker as never,
      alerts: () => [],
      isLeader: () => false,
      rateWindowMs: 60_000,
    },
    'm',
    true,
  );
  return registered(worker.registry, cluster.registry);
}

/** The metric names an expression reads: identifiers before `{`, `[`, `)` or the end, not functions or labels. */
function metricNames(expr: string): string[] {
  const withoutStrings = expr.replace(/"[^"]*"/g, '""');
  const withoutGroups = withoutStrings.replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '');
  const withoutMatchers = withoutGroups.replace(/\{[^}]*\}/g, '{}');
  const names = withoutMatchers.match(/\b[a-zA-Z_:][a-zA-Z0-9_:]*\b(?!\s*\()/g) ?? [];
  return names.filter((n) => !/^(\d|le|offset|bool|and|or|unless|inf|nan)$/i.test(n));
}

/** The labels of every `by (...)` clause. */
function groupingLabels(expr: string): string[] {
  return [...expr.matchAll(/\bby\s*\(([^)]*)\)/g)].flatMap((m) =>
    (m[1] ?? '')
      .split(',')
      .map((l) => l.trim())
      .filter(Boolean),
  );
}

describe('deploy: the Grafana dashboard', () => {
  it('has unique panel ids, non-overlapping rows, and one datasource throughout', () => {
    const ds = parseYaml(read('deploy/grafana/provisioning/datasources/prometheus.yml')) as {
      datasources: Array<{ uid: string; type: string }>;
    };
    const source = ds.datasources[0]!;
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) {
      expect(p.datasource, p.title).toEqual({ type: source.type, uid: source.uid });
      expect(p.targets.length, p.title).toBeGreaterThan(0);
      const refIds = p.targets.map((t) => t.refId);
      expect(new Set(refIds).size, `${p.title} refIds`).toBe(refIds.length);
      for (const t of p.targets)
        expect(t.datasource ?? p.datasource, p.title).toEqual(p.datasource);
    }
    // No two panels share a grid cell.
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      const g = p.gridPos;
      for (let x = g.x; x < g.x + g.w; x++)
        for (let y = g.y; y < g.y + g.h; y++) {
          const c = `${x},${y}`;
          expect(cells.has(c), `${p.title} overlaps at ${c}`).toBe(false);
          cells.add(c);
        }
    }
  });

  it('reads only metrics and labels the code registers', async () => {
    const known = await knownMetrics();
    for (const p of dashboard.panels) {
      for (const t of p.targets) {
        const names = metricNames(t.expr);
        expect(names.length, `${p.title}: ${t.expr}`).toBeGreaterThan(0);
        const ours = names.filter((n) => !NATS_EXPORTER.test(n));
        for (const n of ours) expect(known.has(n), `${p.title}: metric ${n}`).toBe(true);
        const labels = new Set(ours.flatMap((n) => [...(known.get(n)?.labels ?? [])]));
        if (ours.length > 0)
          for (const l of groupingLabels(t.expr))
            expect(labels.has(l), `${p.title}: label ${l} of ${ours.join(', ')}`).toBe(true);
        // A quantile reads a histogram's buckets.
        if (t.expr.includes('histogram_quantile'))
          expect(ours.some((n) => n.endsWith('_bucket') && known.get(n)?.histogram)).toBe(true);
      }
    }
  });

  it('shows queue latency: oldest waiting age, time in queue and run time p50/p99, deferrals by reason', () => {
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    const has = (re: RegExp): boolean => exprs.some((e) => re.test(e));
    expect(has(/rfw_cluster_queue_oldest_waiting_seconds/)).toBe(true);
    for (const h of ['rfw_job_queue_time_seconds', 'rfw_job_run_time_seconds'])
      for (const q of ['0.5', '0.99'])
        expect(has(new RegExp(`histogram_quantile\\(${q}, .*${h}_bucket`)), `${h} ${q}`).toBe(true);
    expect(has(/by \(type, reason\) \(increase\(rfw_jobs_deferred_total/)).toBe(true);
  });
});
