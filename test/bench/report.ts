/** The markdown report: one table of medians (min-max) and ratios, and the targets. */
import type { Scenario } from './scenarios/types.js';
import { median } from './stats.js';
import { SYSTEM_LABEL, type SystemName } from './systems/types.js';
import type { TargetResult } from './targets.js';

export interface RunRecord {
  scenario: string;
  system: SystemName;
  rep: number;
  values: Record<string, number>;
  durationMs: number;
  /** CPU time by process role during the repetition, ms. */
  cpuMs?: Record<string, number>;
  error?: string;
}

export interface Summary {
  scenario: string;
  metric: string;
  system: SystemName;
  values: number[];
  median: number;
  min: number;
  max: number;
}

export function summarise(scenarios: readonly Scenario[], runs: readonly RunRecord[]): Summary[] {
  const out: Summary[] = [];
  for (const sc of scenarios) {
    for (const m of sc.metrics) {
      for (const system of sc.systems) {
        const values = runs
          .filter((r) => r.scenario === sc.id && r.system === system && !r.error)
          .map((r) => r.values[m.key])
          .filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
        if (values.length === 0) continue;
        out.push({
          scenario: sc.id,
          metric: m.key,
          system,
          values,
          median: median(values),
          min: Math.min(...values),
          max: Math.max(...values),
        });
      }
    }
  }
  return out;
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

const COLUMNS: SystemName[] = ['rfw', 'bullmq', 'jetstream'];

export function markdownTable(
  scenarios: readonly Scenario[],
  summaries: readonly Summary[],
  runs: readonly RunRecord[],
  unavailable: ReadonlyMap<string, string>,
): string {
  const lines = [
    `| Scenario | Metric | ${COLUMNS.map((c) => SYSTEM_LABEL[c]).join(' | ')} | rfw / BullMQ | rfw / JetStream |`,
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const sc of scenarios) {
    for (const m of sc.metrics) {
      const cell = (system: SystemName): string => {
        if (!sc.systems.includes(system)) return '-';
        const why = unavailable.get(`${sc.id}/${system}`);
        if (why) return why.startsWith('n/a') ? 'n/a' : 'unavailable';
        const failed = runs.some((r) => r.scenario === sc.id && r.system === system && r.error);
        const s = summaries.find(
          (x) => x.scenario === sc.id && x.metric === m.key && x.system === system,
        );
        if (!s) return failed ? 'error' : 'n/a';
        const range = s.values.length > 1 ? ` (${fmt(s.min)}-${fmt(s.max)})` : '';
        return `${fmt(s.median)}${range}${failed ? ' (some runs failed)' : ''}`;
      };
      const med = (system: SystemName): number =>
        summaries.find((x) => x.scenario === sc.id && x.metric === m.key && x.system === system)
          ?.median ?? Number.NaN;
      const ratio = (other: SystemName): string => {
        if (!sc.systems.includes(other)) return '-';
        const r = med('rfw') / med(other);
        return Number.isFinite(r) ? `${r.toFixed(2)}x` : 'n/a';
      };
      lines.push(
        `| ${sc.title.replace(/^(\d+)\..*$/, '$1')}. ${sc.id} | ${m.label} (${m.unit}, ${m.better} is better) | ${COLUMNS.map(cell).join(' | ')} | ${ratio('bullmq')} | ${ratio('jetstream')} |`,
      );
    }
  }
  return lines.join('\n');
}

export function targetsTable(targets: readonly TargetResult[], quick: boolean): string {
  const lines = ['| Target | Measured | Bound | Result |', '| --- | ---: | --- | --- |'];
  for (const t of targets) {
    const result = t.met === undefined ? 'not measured' : t.met ? 'met' : 'NOT MET';
    lines.push(`| ${t.name} | ${fmt(t.value)} ${t.unit} | ${t.bound} | ${result} |`);
  }
  if (quick)
    lines.push('', "_--quick sizes are far below the targets' sizes: a smoke run, not a verdict._");
  return lines.join('\n');
}

export function unavailableNotes(unavailable: ReadonlyMap<string, string>): string {
  return [...unavailable]
    .map(([k, why]) => {
      const [scenario, system] = k.split('/') as [string, SystemName];
      return `- ${scenario}, ${SYSTEM_LABEL[system]}: unavailable (${why})`;
    })
    .join('\n');
}
