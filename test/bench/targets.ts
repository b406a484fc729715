/** The targets of issue 9, checked against the medians of one bench run. */
import type { SystemName } from './systems/types.js';

/** Median of a metric for a system, NaN when it did not run. */
export type MedianOf = (scenario: string, metric: string, system: SystemName) => number;

export interface TargetResult {
  name: string;
  /** What was measured, in the unit of the target. */
  value: number;
  unit: string;
  /** The bound the value is held to. */
  bound: string;
  met: boolean | undefined;
}

function ratio(name: string, value: number, op: '>=' | '<=', limit: number): TargetResult {
  const met = Number.isFinite(value) ? (op === '>=' ? value >= limit : value <= limit) : undefined;
  return { name, value, unit: 'x', bound: `${op} ${Number(limit.toFixed(2))}`, met };
}

function absolute(
  name: string,
  value: number,
  unit: string,
  op: '>=' | '<=',
  limit: number,
): TargetResult {
  const met = Number.isFinite(value) ? (op === '>=' ? value >= limit : value <= limit) : undefined;
  return { name, value, unit, bound: `${op} ${limit} ${unit}`, met };
}

export function checkTargets(m: MedianOf): TargetResult[] {
  const e2e = m('e2e', 'rate', 'rfw');
  const p99 = m('latency', 'p99_2000', 'rfw');
  return [
    ratio('end-to-end throughput vs BullMQ', e2e / m('e2e', 'rate', 'bullmq'), '>=', 1.3),
    ratio('end-to-end throughput vs raw JetStream', e2e / m('e2e', 'rate', 'jetstream'), '>=', 0.6),
    ratio(
      'highest paced rate with p99 under 10 ms vs BullMQ',
      m('max-rate', 'rate', 'rfw') / m('max-rate', 'rate', 'bullmq'),
      '>=',
      1.3,
    ),
    ratio(
      'p99 enqueue-to-start at 2,000 jobs/s vs raw JetStream',
      p99 / m('latency', 'p99_2000', 'jetstream'),
      '<=',
      1.5,
    ),
    ratio(
      'p99 enqueue-to-start at 2,000 jobs/s vs BullMQ',
      p99 / m('latency', 'p99_2000', 'bullmq'),
      '<=',
      1 / 3,
    ),
    absolute(
      'high-priority job start behind the backlog, p99',
      m('priority', 'p99', 'rfw'),
      'ms',
      '<=',
      20,
    ),
    absolute('delayed job lateness, p99', m('delayed', 'p99', 'rfw'), 'ms', '<=', 100),
    absolute(
      'delayed job lateness with 1,000,000 pending, p99',
      m('delayed-scale', 'p99', 'rfw'),
      'ms',
      '<=',
      100,
    ),
    absolute(
      'scheduler peak RSS with 1,000,000 delayed pending',
      m('delayed-scale', 'rssPeak', 'rfw'),
      'MB',
      '<=',
      250,
    ),
    ratio('4 worker processes over 1 (I/O-bound)', m('scaling', 'speedup_4', 'rfw'), '>=', 3.5),
    absolute('worker RSS, idle', m('memory', 'idle', 'rfw'), 'MB', '<=', 80),
    absolute('worker RSS, jobs in flight', m('memory', 'loaded', 'rfw'), 'MB', '<=', 150),
    absolute(
      'list() by status, p95 (worst status)',
      Math.max(
        m('listing', 'listSucceeded', 'rfw'),
        m('listing', 'listDead', 'rfw'),
        m('listing', 'listPending', 'rfw'),
      ),
      'ms',
      '<=',
      200,
    ),
  ];
}
