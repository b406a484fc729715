/** `rfw tail`: live job events, as they happen. */
import { Command, Option } from 'commander';
import { decodeJson, type JobEvent, type Priority } from '@rfw/core/internal';
import type { CommandContext } from '../context.js';
import { duration } from '../output.js';
import { eventStateArg, idArg, intArg, priorityArg, typeArg } from '../parsers.js';
import type { Registrar } from '../program.js';

interface TailOpts {
  type?: string;
  priority?: Priority;
  state?: string;
  id?: string;
  count?: number;
}

export function registerTail(program: Command, r: Registrar): void {
  r.leaf<TailOpts>(
    program
      .command('tail')
      .description('print live job events (subscribes to <prefix>.events.>) until Ctrl-C')
      .addOption(new Option('--type <type>', 'only this job type').argParser(typeArg))
      .addOption(new Option('--priority <priority>', 'only this priority').argParser(priorityArg))
      .addOption(
        new Option(
          '--state <state>',
          'only this event (a job state, progress or deferred)',
        ).argParser(eventStateArg),
      )
      .addOption(new Option('--id <id>', 'only this job').argParser(idArg))
      .addOption(new Option('--count <n>', 'stop after n events').argParser(intArg(1))),
    tail,
    { handlesSignal: true },
  );
}

/** One human line for an event. */
export function formatEvent(ev: JobEvent): string {
  const time = new Date(ev.at).toISOString().slice(11, 23);
  const extra: string[] = [];
  if (ev.attempt !== undefined) extra.push(`attempt=${ev.attempt}`);
  if (ev.workerId) extra.push(`worker=${ev.workerId}`);
  if (ev.progress) {
    const p = ev.progress;
    extra.push(`progress=${p.done}${p.total !== undefined ? `/${p.total}` : ''}`);
    if (p.message) extra.push(JSON.stringify(p.message));
  }
  if (ev.durationMs !== undefined) extra.push(`took=${duration(ev.durationMs)}`);
  if (ev.retryInMs !== undefined) extra.push(`retry-in=${duration(ev.retryInMs)}`);
  if (ev.reason) extra.push(`reason=${JSON.stringify(ev.reason)}`);
  if (ev.error) extra.push(`error=${JSON.stringify(ev.error)}`);
  return `${time}  ${ev.state.padEnd(9)}  ${`${ev.type}/${ev.priority}`.padEnd(20)}  ${ev.id}  ${extra.join(' ')}`.trimEnd();
}

async function tail(ctx: CommandContext, o: TailOpts): Promise<number | void> {
  const session = ctx.session();
  const nc = await session.connection();
  const subject =
    o.type === undefined && o.priority === undefined && o.state === undefined
      ? session.names.eventsWildcard
      : session.names.eventSubject(o.type ?? '*', o.priority ?? '*', (o.state ?? '*') as never);
  const sub = nc.subscribe(subject);
  await nc.flush();
  ctx.out.note(`listening on ${subject}${o.id ? ` for job ${o.id}` : ''} (Ctrl-C to stop)`);
  const stop = (): void => sub.unsubscribe();
  ctx.signal.addEventListener('abort', stop, { once: true });
  const lost = session.lost();
  let seen = 0;
  const consume = (async () => {
    for await (const m of sub) {
      let ev: JobEvent;
      try {
        ev = decodeJson<JobEvent>(m.data);
      } catch {
        continue;
      }
      if (o.id !== undefined && ev.id !== o.id) continue;
      if (ctx.out.json) ctx.out.data(ev, false);
      else ctx.out.line(formatEvent(ev));
      if (o.count !== undefined && ++seen >= o.count) break;
    }
  })();
  try {
    await Promise.race([consume, lost]);
  } finally {
    ctx.signal.removeEventListener('abort', stop);
    sub.unsubscribe();
  }
}
