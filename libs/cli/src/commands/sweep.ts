/**
 * `rfw heal` and `rfw resync`: schedule a sweep job and follow it with a
 * progress bar until it ends.
 */
import { Command, Option } from 'commander';
import type { Priority } from '@rfw/core';
import { HealingPayload, ReplicationResyncPayload, StorageJobType } from '@rfw/storage-jobs';
import type { z } from 'zod';
import type { CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { JobFollower, reportOutcome } from '../follow.js';
import { intArg, nonEmptyArg, parseDuration, priorityArg } from '../parsers.js';
import type { Registrar } from '../program.js';

/** Job type of `rfw heal`. */
export const HEALING_TYPE = StorageJobType.Healing;
/** Job type of `rfw resync`. */
export const RESYNC_TYPE = StorageJobType.ReplicationResync;

/** Payload of a `healing` job scheduled by `rfw heal` (checked with `HealingPayload`). */
export type HealPayload = HealingPayload;
/** Payload of a `replication-resync` job scheduled by `rfw resync`. */
export type ResyncPayload = ReplicationResyncPayload;

/** Payload fields as the flags that set them. */
const FIELD_FLAGS: Record<string, string> = {
  bucket: '--bucket',
  key: '--key',
  prefix: '--prefix',
  node: '--node',
  deep: '--deep',
  dryRun: '--dry-run',
  removeDangling: '--remove-dangling',
};

/**
 * Check a payload with the worker's own schema, so a bad flag is refused here
 * (exit 2, naming the flag) instead of dying in the worker.
 */
function checked<S extends z.ZodType>(schema: S, payload: unknown): z.output<S> {
  const r = schema.safeParse(payload);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = String(issue?.path[0] ?? '');
  throw new UsageError(
    `invalid ${FIELD_FLAGS[field] ?? (field || 'payload')}: ${issue?.message ?? 'invalid'}`,
  );
}

interface SweepCommon {
  priority: Priority;
  timeout?: number;
  maxRetries?: number;
  detach?: boolean;
}

interface HealOpts extends SweepCommon {
  bucket?: string;
  prefix?: string;
  key?: string;
  node?: string;
  deep?: boolean;
  dryRun?: boolean;
  removeDangling?: boolean;
}

interface ResyncOpts extends SweepCommon {
  bucket: string;
  prefix?: string;
}

function sweepOptions(cmd: Command, defaultPriority: Priority): Command {
  return cmd
    .addOption(
      new Option('--priority <priority>', 'job priority')
        .argParser(priorityArg)
        .default(defaultPriority),
    )
    .addOption(
      new Option('--timeout <duration>', 'per-attempt timeout of the job (e.g. 30m)').argParser(
        parseDuration,
      ),
    )
    .addOption(
      new Option('--max-retries <n>', 'retries after the first attempt').argParser(intArg(0, 100)),
    )
    .option('--detach', 'print the job id and return at once instead of following it')
    .addHelpText(
      'after',
      '\nHere --prefix is a key prefix; the installation prefix goes before the command:\n  rfw --prefix <name> ' +
        cmd.name() +
        ' ...\nExit codes: 0 the job succeeded, 1 it died or was cancelled, 2 bad arguments,\n3 NATS unreachable, 130 interrupted (the job goes on).',
    );
}

export function registerSweeps(program: Command, r: Registrar): void {
  r.leaf<HealOpts>(
    sweepOptions(
      program
        .command('heal')
        .description(
          'heal objects: compare replicas and rewrite missing or corrupt ones; follows progress until done',
        )
        .addOption(
          new Option(
            '--bucket <bucket>',
            'the bucket to heal (all of it unless narrowed)',
          ).argParser(nonEmptyArg),
        )
        .addOption(
          new Option('--prefix <prefix>', 'only objects under this key prefix')
            .argParser(nonEmptyArg)
            .conflicts(['key', 'node']),
        )
        .addOption(
          new Option('--key <key>', 'only this object').argParser(nonEmptyArg).conflicts('node'),
        )
        .addOption(
          new Option(
            '--node <node>',
            'every object that should have a replica on this storage node',
          ).argParser(nonEmptyArg),
        )
        .option('--deep', 'verify content (SHA-256 and block CRCs), not only presence and size')
        .option('--dry-run', 'report what would be healed, change nothing')
        .option('--remove-dangling', 'remove objects that have no valid copy left'),
      'high',
    ),
    heal,
    { prefix: false, handlesSignal: true },
  );

  r.leaf<ResyncOpts>(
    sweepOptions(
      program
        .command('resync')
        .description(
          're-replicate a bucket (or a key prefix) to its targets; follows progress until done',
        )
        .addOption(
          new Option('--bucket <bucket>', 'the bucket to resync')
            .argParser(nonEmptyArg)
            .makeOptionMandatory(),
        )
        .addOption(
          new Option('--prefix <prefix>', 'only objects under this key prefix').argParser(
            nonEmptyArg,
          ),
        ),
      'normal',
    ),
    resync,
    { prefix: false, handlesSignal: true },
  );
}

/** The healing payload for the given flags; throws `UsageError` naming the flag. */
export function healPayload(o: HealOpts): HealPayload {
  if (o.bucket === undefined && o.node === undefined) {
    throw new UsageError(
      "required option '--bucket <bucket>' not specified (or give --node <node>)",
    );
  }
  const scope: HealPayload['scope'] =
    o.key !== undefined
      ? 'object'
      : o.prefix !== undefined
        ? 'prefix'
        : o.node !== undefined
          ? 'node'
          : 'bucket';
  return checked(HealingPayload, {
    scope,
    bucket: o.bucket,
    key: o.key,
    prefix: o.prefix,
    node: o.node,
    deep: Boolean(o.deep),
    dryRun: Boolean(o.dryRun),
    removeDangling: Boolean(o.removeDangling),
  });
}

async function heal(ctx: CommandContext, o: HealOpts): Promise<number | void> {
  const payload = healPayload(o);
  const what = `healing (${payload.scope}${payload.dryRun ? ', dry run' : ''})`;
  return sweep(ctx, HEALING_TYPE, payload, o, what);
}

async function resync(ctx: CommandContext, o: ResyncOpts): Promise<number | void> {
  const payload = checked(ReplicationResyncPayload, { bucket: o.bucket, prefix: o.prefix });
  return sweep(ctx, RESYNC_TYPE, payload, o, 'resync');
}

async function sweep(
  ctx: CommandContext,
  type: string,
  payload: object,
  o: SweepCommon,
  what: string,
): Promise<number | void> {
  const queue = await ctx.session().queue();
  const schedule = (): Promise<string> =>
    queue.schedule(type, payload, {
      priority: o.priority,
      timeout: o.timeout,
      maxRetries: o.maxRetries,
    });
  if (o.detach) {
    const id = await schedule();
    if (ctx.out.json) ctx.out.data({ id, type, priority: o.priority, payload });
    else ctx.out.line(id);
    return;
  }
  // Subscribe first so not even the first progress event is missed.
  const follower = await JobFollower.start(ctx, type);
  try {
    const id = await schedule();
    if (!ctx.out.json)
      ctx.out.note(
        `${what} job ${id} scheduled (${o.priority}); Ctrl-C stops following, not the job`,
      );
    const outcome = await follower.wait(id, { bar: !ctx.out.json });
    return reportOutcome(ctx, outcome, what);
  } finally {
    follower.close();
  }
}
