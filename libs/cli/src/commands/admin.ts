/** `rfw stats`, `rfw pause`, `rfw resume`, `rfw paused`. */
import { hostname, userInfo } from 'node:os';
import { Argument, Command, Option } from 'commander';
import { PRIORITIES, type QueueStats } from '@rfw/core';
import type { CommandContext } from '../context.js';
import type { Cell } from '../output.js';
import { typeArg } from '../parsers.js';
import type { Registrar } from '../program.js';

interface StatsOpts {
  type?: string;
  byPriority?: boolean;
}

const COLUMNS = [
  'PENDING',
  'DELAYED',
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'RETRYING',
  'DEAD',
  'CANCELLED',
  'DLQ',
] as const;

function counts(s: QueueStats): Cell[] {
  return [
    s.pending,
    s.delayed,
    s.running,
    s.succeeded,
    s.failed,
    s.retrying,
    s.dead,
    s.cancelled,
    s.dlq,
  ];
}

function whoAmI(): string {
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return hostname();
  }
}

export function registerAdmin(program: Command, r: Registrar): void {
  r.leaf<StatsOpts>(
    program
      .command('stats')
      .description('job counts per type (and priority), dead letters, paused types')
      .addOption(new Option('--type <type>', 'only this job type').argParser(typeArg))
      .option('--by-priority', 'one row per type and priority'),
    stats,
  );

  r.leaf<{ by?: string }>(
    program
      .command('pause')
      .description(
        'pause a job type cluster-wide: workers stop taking its jobs (running ones finish)',
      )
      .addArgument(new Argument('<type>', 'job type').argParser(typeArg))
      .option('--by <who>', 'recorded as who paused it (default user@host)'),
    async (ctx, o, [type]) => {
      const queue = await ctx.session().queue();
      await queue.pause(type as string, o.by ?? whoAmI());
      if (ctx.out.json) ctx.out.data({ type, paused: true });
      else ctx.out.line(`${type} paused`);
    },
  );

  r.leaf<object>(
    program
      .command('resume')
      .description('resume a paused job type')
      .addArgument(new Argument('<type>', 'job type').argParser(typeArg)),
    async (ctx, _o, [type]) => {
      const queue = await ctx.session().queue();
      await queue.resume(type as string);
      if (ctx.out.json) ctx.out.data({ type, paused: false });
      else ctx.out.line(`${type} resumed`);
    },
  );

  r.leaf<object>(program.command('paused').description('list paused job types'), async (ctx) => {
    const paused = await (await ctx.session().queue()).pausedTypes();
    if (ctx.out.json) ctx.out.data({ paused });
    else if (paused.length === 0) ctx.out.line('(no paused types)');
    else for (const t of paused) ctx.out.line(t);
  });
}

async function stats(ctx: CommandContext, o: StatsOpts): Promise<void> {
  const queue = await ctx.session().queue();
  const [s, paused] = await Promise.all([queue.statistics(), queue.pausedTypes()]);
  const types = Object.keys(s.byType)
    .filter((t) => o.type === undefined || t === o.type)
    .sort();
  if (ctx.out.json) {
    if (o.type === undefined) ctx.out.data({ ...s, paused });
    else {
      const byType = s.byType[o.type];
      ctx.out.data({
        type: o.type,
        ...(byType ?? { total: null, byPriority: {} }),
        paused: paused.includes(o.type),
        generatedAt: s.generatedAt,
      });
    }
    return;
  }
  const rows: Cell[][] = [];
  for (const t of types) {
    const entry = s.byType[t];
    if (!entry) continue;
    const flag = paused.includes(t) ? 'paused' : 'active';
    if (o.byPriority) {
      for (const p of PRIORITIES) {
        const q = entry.byPriority[p];
        if (q) rows.push([t, p, ...counts(q), flag]);
      }
    } else {
      rows.push([t, ...counts(entry.total), flag]);
    }
  }
  if (o.type === undefined && types.length > 1) {
    rows.push(
      o.byPriority ? ['total', '', ...counts(s.total), ''] : ['total', ...counts(s.total), ''],
    );
  }
  const headers = o.byPriority
    ? ['TYPE', 'PRIORITY', ...COLUMNS, 'STATUS']
    : ['TYPE', ...COLUMNS, 'STATUS'];
  ctx.out.table(headers, rows, '(no jobs yet)');
  const pausedNoStats = paused.filter(
    (t) => !types.includes(t) && (o.type === undefined || t === o.type),
  );
  if (pausedNoStats.length > 0) ctx.out.line(`paused: ${pausedNoStats.join(', ')}`);
}
