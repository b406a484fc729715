/** `rfw dlq list|retry|purge`: the dead letter queue. */
import { Argument, Command, Option } from 'commander';
import type { CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { ago, clip } from '../output.js';
import { idArg, intArg, typeArg } from '../parsers.js';
import type { Registrar } from '../program.js';

interface ListOpts {
  type?: string;
  limit: number;
  cursor?: string;
}

interface BulkOpts {
  type?: string;
  all?: boolean;
}

export function registerDlq(program: Command, r: Registrar): void {
  const dlq = program.command('dlq').description('inspect, retry and purge dead letters');

  r.leaf<ListOpts>(
    dlq
      .command('list')
      .description('list dead letters, oldest first')
      .addOption(new Option('--type <type>', 'only this job type').argParser(typeArg))
      .addOption(
        new Option('--limit <n>', 'page size (1-1000)').argParser(intArg(1, 1000)).default(50),
      )
      .option('--cursor <cursor>', 'continue after a previous page'),
    listDeadLetters,
  );

  r.leaf<BulkOpts>(
    dlq
      .command('retry')
      .description('send dead jobs back to pending: one by id, all of a --type, or --all')
      .addArgument(new Argument('[id]', 'job id').argParser(idArg))
      .addOption(new Option('--type <type>', 'every dead letter of this type').argParser(typeArg))
      .addOption(new Option('--all', 'every dead letter of every type').conflicts('type')),
    async (ctx, o, [id]) => {
      const which = selection('retry', id, o);
      const ids = await (await ctx.session().queue()).retryDeadLetters(which);
      if (ctx.out.json) ctx.out.data({ retried: ids.length, ids });
      else {
        for (const i of ids) ctx.out.line(`${i} pending`);
        ctx.out.note(`retried ${ids.length} dead job(s)`);
      }
    },
  );

  r.leaf<BulkOpts>(
    dlq
      .command('purge')
      .description('delete dead letters: all of a --type, or --all (their job records stay)')
      .addOption(new Option('--type <type>', 'dead letters of this type').argParser(typeArg))
      .addOption(new Option('--all', 'dead letters of every type').conflicts('type')),
    async (ctx, o) => {
      if (o.type === undefined && !o.all) {
        throw new UsageError('dlq purge needs --type <type> or --all');
      }
      const purged = await (await ctx.session().queue()).purgeDeadLetters(o.type);
      if (ctx.out.json) ctx.out.data({ purged });
      else ctx.out.line(`purged ${purged} dead letter(s)`);
    },
  );
}

function selection(
  verb: string,
  id: string | undefined,
  o: BulkOpts,
): { id: string } | { type?: string } {
  const given = [id !== undefined, o.type !== undefined, Boolean(o.all)].filter(Boolean).length;
  if (given !== 1) {
    throw new UsageError(`dlq ${verb} needs exactly one of <id>, --type <type> or --all`);
  }
  if (id !== undefined) return { id };
  return { type: o.type };
}

async function listDeadLetters(ctx: CommandContext, o: ListOpts): Promise<void> {
  const page = await (
    await ctx.session().queue()
  ).listDeadLetters({
    type: o.type,
    limit: o.limit,
    cursor: o.cursor,
  });
  if (ctx.out.json) {
    ctx.out.data(page);
    return;
  }
  ctx.out.table(
    ['ID', 'TYPE', 'ATTEMPTS', 'DIED', 'REASON', 'LAST ERROR'],
    page.deadLetters.map((d) => [
      d.id,
      d.type,
      d.attempts,
      ago(d.at),
      clip(d.reason, 50),
      clip(d.lastError, 40),
    ]),
    '(no dead letters)',
  );
  if (page.nextCursor) ctx.out.note(`more: add --cursor ${page.nextCursor}`);
}
