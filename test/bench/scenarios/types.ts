/** The shape of a bench scenario and what one run of it returns. */
import type { SystemName } from '../systems/types.js';
import type { Sizes } from '../sizes.js';

export interface MetricDef {
  key: string;
  label: string;
  unit: string;
  better: 'higher' | 'lower';
}

export interface RunContext {
  sizes: Sizes;
  /** Path of the bundled child entry. */
  bundle: string;
  /** Path of the bundled scheduler service entry. */
  schedulerBundle: string;
  /** Root of the repository. */
  root: string;
  log: (msg: string) => void;
  /** Extra node flags for the children (e.g. `--cpu-prof`). */
  childExecArgv: string[];
  /** CPU time of the current repetition by process role, ms (filled by `withRun`). */
  cpu: Record<string, number>;
}

export interface Scenario {
  id: string;
  title: string;
  systems: readonly SystemName[];
  metrics: readonly MetricDef[];
  /** Why the scenario cannot run for a system now, if it cannot. */
  unavailable?: (system: SystemName, ctx: RunContext) => string | undefined;
  /** Once per bench invocation and system, before the repetitions (e.g. building a data set). */
  prepare?: (system: SystemName, ctx: RunContext) => Promise<void>;
  /** After the repetitions, to undo `prepare`. */
  finish?: (system: SystemName, ctx: RunContext) => Promise<void>;
  /** One repetition for one system: metric key -> value. */
  run: (system: SystemName, ctx: RunContext) => Promise<Record<string, number>>;
}
