/** `rfw jobs list|get|schedule|wait|cancel|retry`. */
import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import { Argument, Command, Option } from 'commander';
import type { Job, JobState, Priority, ScheduleOptions } from '@rfw/core';
import type { CommandContext } from '../context.js';
import { OperationFailedError, UsageError } from '../errors.js';
import { JobFollower, reportOutcome } from '../follow.js';
import { ago, clip, compactJson, duration, iso } from '../output.js';
import {
  idArg,
  intArg,
  parseDuration,
  parseTime,
  priorityArg,
  stateArg,
  typeArg,
} from '../parsers.js';
import type { Registrar } from '../program.js';

interface ListOpts {
  status?: JobState | 'failed';
  type?: string;
  priority?: Priority;
  limit: number;
  cursor?: string;
}

interface ScheduleOpts {
  payloadFile?: string;
  priority?: Priority;
  delay?: number;
  runAt?: number;
  maxRetries?: number;
  timeout?: number;
  id?: string;
  wait?: boolean;
}

export function registerJobs(program: Command, r: Registrar): void {
  const jobs = program
    .command('jobs')
    .description('list, inspect, schedule, cancel and retry jobs');

  r.leaf<ListOpts>(
    jobs
      .command('list')
      .description('list jobs, oldest first, one page at a time')
      .addOption(new Option('--status <state>', 'only jobs in this state').argParser(stateArg))
      .addOption(new Option('--type <type>', 'only jobs of this type').argParser(typeArg))
      .addOption(new Option('--priority <priority>', 'only this priority').argParser(priorityArg))
      .addOption(
        new Option('--limit <n>', 'page size (1-1000)').argParser(intArg(1, 1000)).default(50),
      )
      .option('--cursor <cursor>', 'continue after a previous page'),
    listJobs,
  );

  r.leaf<object>(
    jobs
      .command('get')
      .description('show one job: state, attempts, errors, result and history')
      .addArgument(new Argument('<id>', 'job id').argParser(idArg)),
    getJob,
  );

  r.leaf<ScheduleOpts>(
    jobs
      .command('schedule')
      .description('schedule a job; prints its id')
      .addArgument(new Argument('<type>', 'job type').argParser(typeArg))
      .argument('[payload]', "payload as JSON ('-' reads stdin)", undefined)
      .option('--payload-file <path>', "read the payload JSON from a file ('-' for stdin)")
      .addOption(
        new Option('--priority <priority>', 'critical, high, normal or low').argParser(priorityArg),
      )
      .addOption(
        new Option('--delay <duration>', 'run no sooner than this from now (30s, 5m, 1500)')
          .argParser(parseDuration)
          .conflicts('runAt'),
      )
      .addOption(
        new Option('--run-at <time>', 'run no sooner than this time (ISO or epoch ms)').argParser(
          (v) => parseTime(v),
        ),
      )
      .addOption(
        new Option('--max-retries <n>', 'retries after the first attempt').argParser(
          intArg(0, 100),
        ),
      )
      .addOption(new Option('--timeout <duration>', 'per-attempt timeout').argParser(parseDuration))
      .addOption(new Option('--id <id>', 'job id (idempotency key)').argParser(idArg))
      .option('--wait', 'follow the job with a progress bar until it ends (exit 1 if it dies)'),
    scheduleJob,
    // With --wait it follows the job and reports Ctrl-C itself.
    { handlesSignal: true },
  );

  r.leaf<object>(
    jobs
      .command('wait')
      .description('follow a job with a progress bar until it ends (exit 1 if it dies)')
      .addArgument(new Argument('<id>', 'job id').argParser(idArg)),
    waitJob,
    { handlesSignal: true },
  );

  r.leaf<object>(
    jobs
      .command('cancel')
      .description('cancel a pending, delayed or running job')
      .addArgument(new Argument('<id>', 'job id').argParser(idArg)),
    async (ctx, _o, [id]) => {
      const job = await (await ctx.session().queue()).cancel(id as string);
      if (ctx.out.json) ctx.out.data(job);
      else ctx.out.line(`${job.id} ${job.state}`);
    },
  );

  r.leaf<object>(
    jobs
      .command('retry')
      .description('send a dead or cancelled job back to pending with a fresh retry budget')
      .addArgument(new Argument('<id>', 'job id').argParser(idArg)),
    async (ctx, _o, [id]) => {
      const job = await (await ctx.session().queue()).retry(id as string);
      if (ctx.out.json) ctx.out.data(job);
      else ctx.out.line(`${job.id} ${job.state}`);
    },
  );
}

async function listJobs(ctx: CommandContext, o: ListOpts): Promise<void> {
  const queue = await ctx.session().queue();
  const page = await queue.list({
    status: o.status,
    type: o.type,
    priority: o.priority,
    limit: o.limit,
    cursor: o.cursor,
  });
  if (ctx.out.json) {
    ctx.out.data(page);
    return;
  }
  jobTable(ctx, page.jobs);
  if (page.nextCursor && page.jobs.length >= o.limit) {
    ctx.out.note(`more: add --cursor ${page.nextCursor}`);
  }
}

export function jobTable(ctx: CommandContext, jobs: Job[]): void {
  ctx.out.table(
    ['ID', 'TYPE', 'PRIORITY', 'STATE', 'ATTEMPTS', 'UPDATED', 'ERROR'],
    jobs.map((j) => [
      j.id,
      j.type,
      j.priority,
      j.state,
      `${j.attempts}/${j.maxRetries + 1}`,
      ago(j.updatedAt),
      clip(j.deadReason ?? j.lastError, 50),
    ]),
    '(no jobs)',
  );
}

async function getJob(ctx: CommandContext, _o: object, [id]: string[]): Promise<void> {
  const job = await (await ctx.session().queue()).get(id as string);
  if (!job) throw new OperationFailedError(`job not found: ${id}`);
  if (ctx.out.json) {
    ctx.out.data(job);
    return;
  }
  const { out } = ctx;
  out.fields([
    ['id', job.id],
    ['type', job.type],
    ['priority', job.priority],
    ['state', job.state],
    ['attempts', `${job.attempts} of at most ${job.maxRetries + 1}`],
    ['timeout', duration(job.timeoutMs)],
    ['created', `${iso(job.createdAt)} (${ago(job.createdAt)})`],
    ['run at', job.runAt > job.createdAt ? `${iso(job.runAt)} (${ago(job.runAt)})` : undefined],
    ['updated', `${iso(job.updatedAt)} (${ago(job.updatedAt)})`],
    ['worker', job.workerId],
    ['last error', job.lastError],
    ['dead reason', job.deadReason],
    ['payload', compactJson(job.payload, 200)],
    ['result', compactJson(job.result, 200)],
  ]);
  out.line();
  out.line('history:');
  out.table(
    ['AT', 'STATE', 'ATTEMPT', 'WORKER', 'ERROR'],
    job.history.map((t) => [iso(t.at), t.state, t.attempt, t.workerId, clip(t.error, 60)]),
  );
}

async function readPayload(
  ctx: CommandContext,
  inline: string | undefined,
  file: string | undefined,
): Promise<unknown> {
  if (inline !== undefined && file !== undefined) {
    throw new UsageError('give the payload either as an argument or with --payload-file, not both');
  }
  const source = file ?? inline;
  let raw: string;
  let flag: string;
  if (source === undefined) return {};
  if (file !== undefined) {
    flag = '--payload-file';
    try {
      raw = file === '-' ? await text(ctx.io.stdin) : await readFile(file, 'utf8');
    } catch (err) {
      throw new UsageError(`invalid --payload-file: ${(err as Error).message}`);
    }
  } else {
    flag = '<payload>';
    raw = inline === '-' ? await text(ctx.io.stdin) : (inline as string);
  }
  try {
    return JSON.parse(raw) as unknown;
  } catch (err) {
    throw new UsageError(`invalid ${flag}: not JSON (${(err as Error).message})`);
  }
}

async function scheduleJob(
  ctx: CommandContext,
  o: ScheduleOpts,
  [type, inline]: string[],
): Promise<number | void> {
  const payload = await readPayload(ctx, inline, o.payloadFile);
  const options: ScheduleOptions = {
    priority: o.priority,
    delay: o.delay,
    runAt: o.runAt,
    maxRetries: o.maxRetries,
    timeout: o.timeout,
    id: o.id,
  };
  const queue = await ctx.session().queue();
  const follower = o.wait ? await JobFollower.start(ctx, type as string) : undefined;
  try {
    const id = await queue.schedule(type as string, payload, options);
    if (!follower) {
      if (ctx.out.json) ctx.out.data({ id, type, priority: o.priority ?? 'normal' });
      else ctx.out.line(id);
      return;
    }
    ctx.out.note(`scheduled ${type} job ${id}`);
    return reportOutcome(ctx, await follower.wait(id, { bar: !ctx.out.json }), `${type} job`);
  } finally {
    follower?.close();
  }
}

async function waitJob(ctx: CommandContext, _o: object, [id]: string[]): Promise<number> {
  const queue = await ctx.session().queue();
  const job = await queue.get(id as string);
  if (!job) throw new OperationFailedError(`job not found: ${id}`);
  const follower = await JobFollower.start(ctx, job.type);
  try {
    return reportOutcome(
      ctx,
      await follower.wait(job.id, { bar: !ctx.out.json }),
      `${job.type} job`,
    );
  } finally {
    follower.close();
  }
}
