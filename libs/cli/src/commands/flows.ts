/** `rfw flow add|show`: enqueue a flow from a JSON file, and show how far its children are. */
import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import { Argument, Command, Option } from 'commander';
import { JobValidationError, type ChildEnding, type FlowJob } from '@rfw/core';
import type { CommandContext } from '../context.js';
import { OperationFailedError, UsageError } from '../errors.js';
import { clip } from '../output.js';
import { idArg } from '../parsers.js';
import type { Registrar } from '../program.js';

/** Failed children listed by `rfw flow show` before "and N more". */
export const SHOWN_FAILURES = 20;

interface AddOpts {
  file: string;
}

export function registerFlows(program: Command, r: Registrar): void {
  const flow = program
    .command('flow')
    .description('enqueue flows (a job that runs once its children end) and follow them');

  r.leaf<AddOpts>(
    flow
      .command('add')
      .description("enqueue a flow from a JSON file; prints the root's id")
      .addOption(
        new Option(
          '--file <path>',
          "the flow as JSON: { type, payload, options, children: [...] } ('-' reads stdin)",
        ).makeOptionMandatory(),
      ),
    addFlow,
  );

  r.leaf<object>(
    flow
      .command('show')
      .description("a flow parent's state, its children's counts, and the failed children")
      .addArgument(new Argument('<id>', "the flow's root (or any parent's) id").argParser(idArg)),
    showFlow,
  );
}

async function readFlow(ctx: CommandContext, file: string): Promise<FlowJob> {
  let raw: string;
  try {
    raw = file === '-' ? await text(ctx.io.stdin) : await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`invalid --file: ${(err as Error).message}`);
  }
  let flow: unknown;
  try {
    flow = JSON.parse(raw);
  } catch (err) {
    throw new UsageError(`invalid --file: not JSON (${(err as Error).message})`);
  }
  if (flow === null || typeof flow !== 'object' || Array.isArray(flow))
    throw new UsageError('invalid --file: a flow is a JSON object { type, payload, children }');
  return withPayloads(flow as FlowJob);
}

/** A node without a payload gets `{}`, as `rfw jobs schedule` does. */
function withPayloads<T extends FlowJob>(n: T): T {
  if (n === null || typeof n !== 'object' || Array.isArray(n)) return n;
  return {
    ...n,
    payload: n.payload === undefined ? {} : n.payload,
    ...(Array.isArray(n.children) ? { children: n.children.map(withPayloads) } : {}),
  };
}

function countJobs(n: FlowJob): number {
  return 1 + (Array.isArray(n.children) ? n.children : []).reduce((s, c) => s + countJobs(c), 0);
}

async function addFlow(ctx: CommandContext, o: AddOpts): Promise<void> {
  const root = await readFlow(ctx, o.file);
  const queue = await ctx.session().queue();
  let made: Awaited<ReturnType<typeof queue.flow>>;
  try {
    made = await queue.flow(root);
  } catch (err) {
    // Name the node in the file: `invalid --file children[1].options.priority: ...`.
    if (err instanceof JobValidationError)
      throw new JobValidationError(`--file ${err.field}`, err.reason, { cause: err });
    throw err;
  }
  const summary = {
    id: made.id,
    type: made.type,
    children: made.children.length,
    jobs: countJobs(root),
    duplicate: made.duplicate,
  };
  if (ctx.out.json) {
    ctx.out.data(summary);
    return;
  }
  ctx.out.line(made.id);
  ctx.out.note(
    made.duplicate
      ? `a job ${made.id} exists already: nothing enqueued`
      : `enqueued flow ${made.id} (${made.type}): ${summary.children} children, ${summary.jobs} jobs`,
  );
}

/** `[##########----------] 50%`: how many of `total` ended. */
export function progressBar(ended: number, total: number, width = 30): string {
  const ratio = total > 0 ? Math.min(1, ended / total) : 1;
  const full = Math.round(ratio * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}] ${Math.floor(ratio * 100)}%`;
}

async function showFlow(ctx: CommandContext, _o: object, [id]: string[]): Promise<void> {
  const queue = await ctx.session().queue();
  const job = await queue.get(id as string);
  if (!job) throw new OperationFailedError(`job not found: ${id}`);
  if (!job.flow)
    throw new OperationFailedError(
      `${job.id} is not a flow's parent (${job.state}${job.parent ? `, a child of ${job.parent.id}` : ''})`,
    );
  const { flow, endings } = await queue.children(job.id);
  const succeeded = flow.succeeded ?? 0;
  const dead = flow.dead ?? 0;
  const cancelled = flow.cancelled ?? 0;
  const ended = succeeded + dead + cancelled;
  const pending = Math.max(0, flow.children - ended);
  const failed = endings.filter((e: ChildEnding) => e.state !== 'succeeded');
  if (ctx.out.json) {
    ctx.out.data({
      id: job.id,
      type: job.type,
      state: job.state,
      flow: { children: flow.children, succeeded, dead, cancelled, pending },
      failed,
      result: job.result,
      deadReason: job.deadReason,
    });
    return;
  }
  const { out } = ctx;
  out.fields([
    ['id', job.id],
    ['type', job.type],
    ['state', job.state],
    ['children', flow.children],
    ['succeeded', succeeded],
    ['dead', dead],
    ['cancelled', cancelled],
    ['pending', pending],
    ['progress', `${progressBar(ended, flow.children)} (${ended}/${flow.children} ended)`],
    ['dead reason', job.deadReason],
  ]);
  if (failed.length === 0) return;
  out.line();
  out.line(`failed children (${failed.length}):`);
  out.table(
    ['ID', 'TYPE', 'STATE', 'ON FAILURE', 'ERROR'],
    failed
      .slice(0, SHOWN_FAILURES)
      .map((e) => [e.id, e.type, e.state, e.onFailure, clip(e.error, 60)]),
  );
  if (failed.length > SHOWN_FAILURES) out.line(`and ${failed.length - SHOWN_FAILURES} more`);
}
