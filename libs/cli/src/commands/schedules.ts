/**
 * `rfw schedules list|show|add|update|pause|resume|remove|next`: periodic
 * (cron and interval) schedules stored in NATS (`JobQueue.schedules`). The
 * schedulers apply a change within moments; schedules from a scheduler's file
 * or `SCHEDULES` environment variable are not listed here.
 */
import { hostname, userInfo } from 'node:os';
import { text } from 'node:stream/consumers';
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import {
  SCHEDULE_NAME_PATTERN,
  ScheduleExistsError,
  ScheduleNotFoundError,
  upcomingFireTimes,
  type MisfirePolicy,
  type Priority,
  type Schedule,
  type ScheduleDefinition,
  type SchedulePatch,
  type Schedules,
  type StoredSchedule,
} from '@rfw/core';
import type { CommandContext } from '../context.js';
import {
  OperationFailedError,
  SCHEDULE_FIELD_FLAGS,
  UsageError,
  withFlagNames,
} from '../errors.js';
import { ago, compactJson } from '../output.js';
import { intArg, parseDuration, parseTime, priorityArg, typeArg } from '../parsers.js';
import type { Registrar } from '../program.js';

interface DefinitionOpts {
  type?: string;
  cron?: string;
  every?: number;
  tz?: string;
  payload?: string;
  priority?: Priority;
  maxRetries?: number;
  timeout?: number;
  misfire?: MisfirePolicy;
  misfireGrace?: number;
  by?: string;
}

interface AddOpts extends DefinitionOpts {
  paused?: boolean;
}

interface NextOpts {
  count: number;
  after?: number;
}

const DEFINITION_FLAGS = [
  '--type',
  '--cron',
  '--every',
  '--tz',
  '--payload',
  '--priority',
  '--max-retries',
  '--timeout',
  '--misfire',
  '--misfire-grace',
];

function whoAmI(): string {
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return hostname();
  }
}

/** A schedule name, checked as `JobQueue.schedules` checks it. */
function nameArg(value: string): string {
  if (!SCHEDULE_NAME_PATTERN.test(value)) {
    throw new InvalidArgumentError(`must match ${SCHEDULE_NAME_PATTERN.source}.`);
  }
  return value;
}

/** A duration that is a safe integer of ms (so every time derived from it is a date). */
function boundedDuration(value: string): number {
  const ms = parseDuration(value);
  if (!Number.isSafeInteger(ms)) throw new InvalidArgumentError('too large.');
  return ms;
}

const nameArgument = (): Argument =>
  new Argument('<name>', 'schedule name ([A-Za-z0-9_-], at most 64)').argParser(nameArg);

/** The options `add` and `update` share. */
function definitionOptions(cmd: Command, typeMandatory: boolean): Command {
  const type = new Option('--type <type>', 'job type of each fire').argParser(typeArg);
  return cmd
    .addOption(typeMandatory ? type.makeOptionMandatory() : type)
    .addOption(
      new Option('--cron <expr>', 'cron expression: 5 fields, or 6 with seconds first').conflicts(
        'every',
      ),
    )
    .addOption(
      new Option('--every <duration>', 'fire at every multiple of this (500ms, 30s, 5m, 1h)')
        .argParser(boundedDuration)
        .conflicts('tz'),
    )
    .addOption(new Option('--tz <zone>', "IANA time zone of --cron (default: the scheduler's)"))
    .option('--payload <json>', "payload of each fire's job as JSON ('-' reads stdin)")
    .addOption(
      new Option('--priority <priority>', 'critical, high, normal or low').argParser(priorityArg),
    )
    .addOption(
      new Option('--max-retries <n>', "retries of each fire's job").argParser(intArg(0, 1000)),
    )
    .addOption(
      new Option('--timeout <duration>', "per-attempt timeout of each fire's job").argParser(
        boundedDuration,
      ),
    )
    .addOption(
      new Option('--misfire <policy>', 'what to do with missed fire times').choices([
        'latest',
        'all',
        'skip',
      ]),
    )
    .addOption(
      new Option(
        '--misfire-grace <duration>',
        'missed fire times older than this are never fired (default 5m)',
      ).argParser(boundedDuration),
    )
    .option('--by <who>', 'recorded as who made the change (default user@host)');
}

export function registerSchedules(program: Command, r: Registrar): void {
  const schedules = program
    .command('schedules')
    .description('add, change, pause, list and remove periodic (cron and interval) schedules');

  r.leaf<object>(
    schedules
      .command('list')
      .description('list the stored schedules with their next fire time, by name'),
    listSchedules,
  );

  r.leaf<object>(
    schedules
      .command('show')
      .description('show one stored schedule: its definition, state and next fire time')
      .addArgument(nameArgument()),
    showSchedule,
  );

  r.leaf<AddOpts>(
    definitionOptions(
      schedules
        .command('add')
        .description('add a schedule: --type and one of --cron or --every')
        .addArgument(nameArgument()),
      true,
    ).option('--paused', 'add it paused: it fires nothing until resumed'),
    addSchedule,
  );

  r.leaf<DefinitionOpts>(
    definitionOptions(
      schedules
        .command('update')
        .description('change fields of a schedule (--cron and --every replace each other)')
        .addArgument(nameArgument()),
      false,
    ),
    updateSchedule,
  );

  r.leaf<{ by?: string }>(
    schedules
      .command('pause')
      .description('stop a schedule firing until it is resumed; its definition is kept')
      .addArgument(nameArgument())
      .option('--by <who>', 'recorded as who paused it (default user@host)'),
    async (ctx, o, [name]) => {
      const s = await api(ctx, (q) => q.pause(name as string, o.by ?? whoAmI()));
      if (ctx.out.json) ctx.out.data(s);
      else ctx.out.line(`${s.schedule.name} paused`);
    },
  );

  r.leaf<{ by?: string }>(
    schedules
      .command('resume')
      .description('fire a paused schedule again, from its next fire time on')
      .addArgument(nameArgument())
      .option('--by <who>', 'recorded as who resumed it (default user@host)'),
    async (ctx, o, [name]) => {
      const s = await api(ctx, (q) => q.resume(name as string, o.by ?? whoAmI()));
      if (ctx.out.json) ctx.out.data(s);
      else ctx.out.line(`${s.schedule.name} resumed, next fire ${nextFireText(s)}`);
    },
  );

  r.leaf<object>(
    schedules
      .command('remove')
      .description('remove a schedule (the jobs it fired are kept)')
      .addArgument(nameArgument()),
    async (ctx, _o, [name]) => {
      await api(ctx, (q) => q.remove(name as string));
      if (ctx.out.json) ctx.out.data({ name, removed: true });
      else ctx.out.line(`${name} removed`);
    },
  );

  r.leaf<NextOpts>(
    schedules
      .command('next')
      .description('list the next fire times of a schedule, UTC and local (none while paused)')
      .addArgument(nameArgument())
      .addOption(
        new Option('--count <n>', 'how many (1-1000)').argParser(intArg(1, 1000)).default(5),
      )
      .addOption(
        new Option('--after <time>', 'from this time on (ISO or epoch ms; default now)').argParser(
          (v) => parseTime(v),
        ),
      ),
    nextTimes,
  );
}

/** Run a `JobQueue.schedules` call; its errors name the flags of these commands. */
async function api<T>(ctx: CommandContext, fn: (s: Schedules) => Promise<T>): Promise<T> {
  const queue = await ctx.session().queue();
  try {
    return await fn(queue.schedules);
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw new OperationFailedError(err.message);
    if (err instanceof ScheduleExistsError) {
      throw new OperationFailedError(`${err.message} (update it, or remove it first)`);
    }
    throw withFlagNames(err, SCHEDULE_FIELD_FLAGS);
  }
}

async function readPayload(ctx: CommandContext, raw: string | undefined): Promise<unknown> {
  if (raw === undefined) return undefined;
  const json = raw === '-' ? await text(ctx.io.stdin) : raw;
  try {
    return JSON.parse(json) as unknown;
  } catch (err) {
    throw new UsageError(`invalid --payload: not JSON (${(err as Error).message})`);
  }
}

/** The definition fields the options give; only those given. */
async function fieldsOf(ctx: CommandContext, o: DefinitionOpts): Promise<SchedulePatch> {
  const payload = await readPayload(ctx, o.payload);
  const fields: SchedulePatch = {
    type: o.type,
    cron: o.cron,
    everyMs: o.every,
    timezone: o.tz,
    payload,
    priority: o.priority,
    maxRetries: o.maxRetries,
    timeout: o.timeout,
    misfire: o.misfire,
    misfireGraceMs: o.misfireGrace,
  };
  for (const k of Object.keys(fields) as Array<keyof SchedulePatch>) {
    if (fields[k] === undefined) delete fields[k];
  }
  return fields;
}

async function addSchedule(ctx: CommandContext, o: AddOpts, [name]: string[]): Promise<void> {
  if (o.cron === undefined && o.every === undefined) {
    throw new UsageError('schedules add needs one of --cron <expr> or --every <duration>');
  }
  const definition = { ...(await fieldsOf(ctx, o)), name } as ScheduleDefinition;
  const s = await api(ctx, (q) =>
    q.add(definition, { paused: o.paused === true, by: o.by ?? whoAmI() }),
  );
  if (ctx.out.json) ctx.out.data(s);
  else
    ctx.out.line(
      `${s.schedule.name} added${s.paused ? ' paused' : ''}, next fire ${nextFireText(s)}`,
    );
}

async function updateSchedule(
  ctx: CommandContext,
  o: DefinitionOpts,
  [name]: string[],
): Promise<void> {
  const patch = await fieldsOf(ctx, o);
  if (Object.keys(patch).length === 0) {
    throw new UsageError(`schedules update needs at least one of ${DEFINITION_FLAGS.join(', ')}`);
  }
  const s = await api(ctx, (q) => q.update(name as string, patch, o.by ?? whoAmI()));
  if (ctx.out.json) ctx.out.data(s);
  else ctx.out.line(`${s.schedule.name} updated, next fire ${nextFireText(s)}`);
}

async function listSchedules(ctx: CommandContext): Promise<void> {
  const all = await api(ctx, (q) => q.list());
  if (ctx.out.json) {
    ctx.out.data({ schedules: all.map((s) => ({ ...s, nextFireAt: nextFireAt(s) ?? null })) });
    return;
  }
  ctx.out.table(
    ['NAME', 'CRON/EVERY', 'TZ', 'TYPE', 'PAUSED', 'NEXT FIRE'],
    all.map((s) => [
      s.schedule.name,
      whenText(s.schedule),
      s.schedule.timezone,
      s.schedule.type,
      s.paused ? 'yes' : 'no',
      s.paused ? undefined : nextFireText(s),
    ]),
    '(no schedules)',
  );
}

async function showSchedule(ctx: CommandContext, _o: object, [name]: string[]): Promise<void> {
  const s = await api(ctx, (q) => q.get(name as string));
  if (!s) throw new OperationFailedError(`schedule not found: ${name}`);
  if (ctx.out.json) {
    ctx.out.data(s);
    return;
  }
  const d = s.schedule;
  ctx.out.fields([
    ['name', d.name],
    ['cron', d.cron],
    ['every', d.everyMs === undefined ? undefined : everyText(d.everyMs)],
    ['timezone', d.timezone],
    ['type', d.type],
    ['payload', compactJson(d.payload, 200)],
    ['priority', d.priority],
    ['max retries', d.maxRetries],
    ['timeout', d.timeout === undefined ? undefined : everyText(d.timeout)],
    ['misfire', `${d.misfire} (grace ${everyText(d.misfireGraceMs)})`],
    ['paused', s.paused ? 'yes' : 'no'],
    ['next fire', s.paused ? undefined : nextFireText(s)],
    ['created', `${isoIn(s.createdAt, 'UTC')} (${ago(s.createdAt)})`],
    ['updated', `${isoIn(s.updatedAt, 'UTC')} (${ago(s.updatedAt)})`],
    ['by', s.by],
  ]);
}

async function nextTimes(ctx: CommandContext, o: NextOpts, [name]: string[]): Promise<void> {
  const [times, s] = await api(ctx, async (q) => {
    const t = await q.nextFireTimes(name as string, { count: o.count, after: o.after });
    return [t, await q.get(name as string)] as const;
  });
  const local = localZone();
  const zone = s?.schedule.timezone;
  const extra = zone !== undefined && zone !== local ? zone : undefined;
  if (ctx.out.json) {
    ctx.out.data({
      name,
      paused: s?.paused ?? false,
      ...(zone ? { timezone: zone } : {}),
      localZone: local,
      next: times.map((at) => ({
        at,
        utc: isoIn(at, 'UTC'),
        local: isoIn(at, local),
        ...(extra ? { inTimezone: isoIn(at, extra) } : {}),
      })),
    });
    return;
  }
  ctx.out.table(
    ['UTC', `LOCAL (${local})`, ...(extra ? [extra] : [])],
    times.map((at) => [isoIn(at, 'UTC'), isoIn(at, local), ...(extra ? [isoIn(at, extra)] : [])]),
    s?.paused ? `(none: ${name} is paused)` : '(no more fire times)',
  );
}

/** `0 3 * * *` or `every 30s`. */
function whenText(s: Schedule): string {
  return s.cron ?? `every ${everyText(s.everyMs ?? 0)}`;
}

/** A duration as `rfw` takes it: `500ms`, `30s`, `1m30s`, `1d`. */
function everyText(ms: number): string {
  let rest = ms;
  let out = '';
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  if (rest > 0 || out === '') out += `${rest}ms`;
  return out;
}

/** When a stored schedule fires next (as the schedulers will), or undefined (paused, or none). */
function nextFireAt(s: StoredSchedule, now = Date.now()): number | undefined {
  const [t] = upcomingFireTimes(s, now, 1);
  return t !== undefined && isDate(t) ? t : undefined;
}

function nextFireText(s: StoredSchedule): string {
  if (s.paused) return '- (paused)';
  const t = nextFireAt(s);
  return t === undefined ? '- (no more)' : `${isoIn(t, 'UTC')} (${ago(t)})`;
}

/** The zone times are shown in locally: the process's (`TZ`), UTC when it has none. */
function localZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

const isDate = (ms: number): boolean => Number.isFinite(ms) && Math.abs(ms) <= 8.64e15;

/** ISO 8601 time of `ms` in `timeZone` with its offset: `2026-12-07T10:00:00.000+01:00` (`Z` for UTC). */
export function isoIn(ms: number, timeZone: string): string {
  if (!isDate(ms)) return '-';
  const d = new Date(ms);
  if (timeZone === 'UTC') return d.toISOString();
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'longOffset',
  }).formatToParts(d);
  const p: Record<string, string> = {};
  for (const x of parts) p[x.type] = x.value;
  const offset = (p.timeZoneName ?? 'GMT').replace(/^GMT/, '') || '+00:00';
  const millis = String(d.getUTCMilliseconds()).padStart(3, '0');
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}.${millis}${offset}`;
}
