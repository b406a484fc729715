/**
 * `npm run bench`: rustfs-workers against BullMQ and raw JetStream, in one
 * run on one machine. Each scenario runs for every system it applies to,
 * alternating the systems and repeating; producers and workers are child
 * processes started per run. Prints a markdown table (medians, min-max,
 * ratios) and the targets, and writes the raw results as JSON.
 *
 *   npm run bench                       # full run (heavy: about 15 minutes)
 *   npm run bench -- --quick            # every scenario, small sizes
 *   npm run bench -- --only latency,e2e --systems rfw,jetstream --repeats 5
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cleanupAll } from '@rfw/testkit';
import { bundleChild } from './bundle.js';
import { machineInfo } from './machine.js';
import {
  markdownTable,
  summarise,
  targetsTable,
  unavailableNotes,
  type RunRecord,
} from './report.js';
import { delayedScaleScenario, delayedScenario } from './scenarios/delayed.js';
import { flowScenario } from './scenarios/flow.js';
import { latencyScenario, maxRateScenario } from './scenarios/latency.js';
import { listingScenario } from './scenarios/listing.js';
import { memoryScenario } from './scenarios/memory.js';
import { priorityScenario } from './scenarios/priority.js';
import { scalingScenario } from './scenarios/scaling.js';
import { e2eScenario, enqueueScenario } from './scenarios/throughput.js';
import type { RunContext, Scenario } from './scenarios/types.js';
import { FULL, QUICK } from './sizes.js';
import { SYSTEMS, type SystemName } from './systems/types.js';
import { checkTargets } from './targets.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');

const USAGE = `usage: npm run bench -- [--quick] [--only a,b] [--systems rfw,bullmq,jetstream] [--repeats N] [--out DIR] [--profile DIR]
  --set key=N    override a size (see bench/sizes.ts), e.g. --set e2eJobs=20000 --set latencyRates=200,500
  --profile DIR  run producers and workers under node --cpu-prof, writing .cpuprofile files to DIR
scenarios: enqueue, e2e, latency, max-rate, priority, delayed, delayed-scale, scaling, memory, listing, flow`;

function parse() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
      systems: { type: 'string' },
      repeats: { type: 'string' },
      out: { type: 'string' },
      profile: { type: 'string' },
      set: { type: 'string', multiple: true },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  return values;
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse();
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const sizes = { ...(args.quick ? QUICK : FULL) };
  if (args.repeats !== undefined) {
    const n = Number(args.repeats);
    if (!Number.isInteger(n) || n < 1) {
      console.error(`--repeats must be an integer >= 1, got ${args.repeats}`);
      return 2;
    }
    sizes.repeats = n;
  }
  for (const kv of args.set ?? []) {
    const [key, raw] = kv.split('=');
    const sizesRecord = sizes as unknown as Record<string, unknown>;
    const current = sizesRecord[key ?? ''];
    const list = (raw ?? '').split(',').map(Number);
    const ok =
      raw !== undefined &&
      list.every((n) => Number.isFinite(n) && n > 0) &&
      (typeof current === 'number' ? list.length === 1 : Array.isArray(current));
    if (!ok) {
      console.error(`--set ${kv}: not a size of bench/sizes.ts (a number, or a list like 200,500)`);
      return 2;
    }
    sizesRecord[key as string] = typeof current === 'number' ? list[0] : list;
  }
  const all: Scenario[] = [
    enqueueScenario,
    e2eScenario,
    latencyScenario(sizes.latencyRates),
    maxRateScenario(sizes.maxRateSteps),
    priorityScenario,
    delayedScenario,
    delayedScaleScenario(sizes.delayedScalePending),
    scalingScenario(sizes.scalingProcesses),
    memoryScenario(sizes.memoryInFlight),
    listingScenario(sizes.listingRecords),
    flowScenario,
  ];
  const only = (args.only ?? []).flatMap((s) => s.split(',')).filter(Boolean);
  const unknown = only.filter((id) => !all.some((s) => s.id === id));
  if (unknown.length) {
    console.error(`unknown scenario ${unknown.join(', ')}\n${USAGE}`);
    return 2;
  }
  const systems = (args.systems?.split(',') ?? [...SYSTEMS]) as SystemName[];
  const badSystem = systems.find((s) => !SYSTEMS.includes(s));
  if (badSystem) {
    console.error(`unknown system ${badSystem}\n${USAGE}`);
    return 2;
  }
  const scenarios = all
    .filter((s) => only.length === 0 || only.includes(s.id))
    .map((s) => ({ ...s, systems: s.systems.filter((x) => systems.includes(x)) }));

  const log = (m: string): void => console.error(m);
  const startedAt = new Date();
  const machine = await machineInfo();
  log(
    `bench: ${args.quick ? 'quick' : 'full'} run, ${sizes.repeats} repetition(s), ${machine.nproc} cores, load ${machine.loadAverage}`,
  );
  const bundle = await bundleChild();
  // On Ctrl-C, exit through the normal exit hooks: they stop the nats-servers and the bundle goes.
  process.once('exit', () => bundle.remove());
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));
  const profileDir = args.profile ? resolve(args.profile) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const ctx: RunContext = {
    sizes,
    bundle: bundle.file,
    schedulerBundle: bundle.scheduler,
    root,
    log,
    childExecArgv: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
    cpu: {},
  };
  const runs: RunRecord[] = [];
  const unavailable = new Map<string, string>();
  const outDir = resolve(args.out ?? join(root, 'bench-results'));
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  /** Write the results so far (after every scenario, so a cut-short run keeps its data). */
  const save = (complete: boolean) => {
    const summaries = summarise(scenarios, runs);
    const medianOf = (scenario: string, metric: string, system: SystemName): number =>
      summaries.find((s) => s.scenario === scenario && s.metric === metric && s.system === system)
        ?.median ?? Number.NaN;
    const targets = checkTargets(medianOf);
    writeFileSync(
      file,
      `${JSON.stringify(
        {
          version: 1,
          quick: args.quick,
          complete,
          startedAt: startedAt.toISOString(),
          finishedAt: new Date().toISOString(),
          argv: process.argv.slice(2),
          machine,
          sizes,
          scenarios: scenarios.map((s) => ({
            id: s.id,
            title: s.title,
            systems: s.systems,
            metrics: s.metrics,
          })),
          unavailable: Object.fromEntries(unavailable),
          runs,
          summaries,
          targets,
        },
        (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v),
        2,
      )}\n`,
    );
    return { summaries, targets };
  };
  try {
    for (const sc of scenarios) {
      log(`\n${sc.title}`);
      const active: SystemName[] = [];
      for (const system of sc.systems) {
        const why = sc.unavailable?.(system, ctx);
        if (why) {
          unavailable.set(`${sc.id}/${system}`, why);
          log(`  ${system}: unavailable (${why})`);
        } else active.push(system);
      }
      const prepared: SystemName[] = [];
      try {
        for (const system of active) {
          try {
            await sc.prepare?.(system, ctx);
            prepared.push(system);
          } catch (err) {
            runs.push({
              scenario: sc.id,
              system,
              rep: 0,
              values: {},
              durationMs: 0,
              error: String((err as Error).stack ?? err),
            });
            log(`  ${system}: preparation failed: ${(err as Error).message}`);
          }
        }
        for (let rep = 0; rep < sizes.repeats; rep++) {
          // Alternate the systems: a different one goes first in each repetition.
          const k = rep % Math.max(1, prepared.length);
          for (const system of [...prepared.slice(k), ...prepared.slice(0, k)]) {
            const t = performance.now();
            ctx.cpu = {};
            try {
              const values = await sc.run(system, ctx);
              const durationMs = performance.now() - t;
              runs.push({ scenario: sc.id, system, rep, values, durationMs, cpuMs: ctx.cpu });
              log(
                `  ${system} #${rep + 1}: ${Object.entries(values)
                  .map(([k2, v]) => `${k2}=${v.toFixed(2)}`)
                  .join(' ')} (${(durationMs / 1000).toFixed(1)} s; cpu ${Object.entries(ctx.cpu)
                  .map(([k2, v]) => `${k2} ${(v / 1000).toFixed(1)} s`)
                  .join(', ')})`,
              );
            } catch (err) {
              const durationMs = performance.now() - t;
              runs.push({
                scenario: sc.id,
                system,
                rep,
                values: {},
                durationMs,
                error: String((err as Error).stack ?? err),
              });
              log(`  ${system} #${rep + 1}: FAILED ${(err as Error).message}`);
            }
          }
        }
      } finally {
        for (const system of prepared) await sc.finish?.(system, ctx).catch(() => undefined);
      }
      save(false);
    }
  } finally {
    bundle.remove();
    await cleanupAll();
  }

  const { summaries, targets } = save(true);
  console.log(
    `\n## Results (${args.quick ? 'quick' : 'full'}, ${sizes.repeats} repetition(s), median (min-max))\n`,
  );
  console.log(markdownTable(scenarios, summaries, runs, unavailable));
  const notes = unavailableNotes(unavailable);
  if (notes) console.log(`\n${notes}`);
  console.log('\n## Targets\n');
  console.log(targetsTable(targets, args.quick ?? false));
  const failed = runs.filter((r) => r.error);
  console.log(`\nraw results: ${file}`);
  if (failed.length) {
    console.error(`\n${failed.length} run(s) failed:`);
    for (const f of failed) console.error(`- ${f.scenario} ${f.system} #${f.rep + 1}: ${f.error}`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
