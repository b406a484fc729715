/**
 * `rfw search`: query the object index over NATS request/reply
 * (`<prefix>.api.search`, served by the indexing worker).
 */
import { Command, Option } from 'commander';
import { RequestError, NoRespondersError, TimeoutError } from '@nats-io/nats-core';
import { decodeJson, encodeJson } from '@rfw/core/internal';
import { SearchRequest } from '@rfw/storage-jobs';
import type { CommandContext } from '../context.js';
import { OperationFailedError, UsageError } from '../errors.js';
import { ago, clip, compactJson } from '../output.js';
import {
  intArg,
  keyValueArg,
  nonEmptyArg,
  parseDuration,
  parseSize,
  parseTime,
} from '../parsers.js';
import type { Registrar } from '../program.js';

interface SearchOpts {
  bucket?: string;
  prefix?: string;
  meta?: Record<string, string>;
  minSize?: number;
  maxSize?: number;
  modifiedAfter?: number;
  modifiedBefore?: number;
  limit?: number;
  cursor?: string;
  timeout: number;
}

/** Request fields as the flags that set them, for errors the service reports. */
const FIELD_FLAGS: Record<string, string> = {
  bucket: '--bucket',
  prefix: '--prefix',
  text: '[text]',
  metadata: '--meta',
  minSize: '--min-size',
  maxSize: '--max-size',
  modifiedAfter: '--modified-after',
  modifiedBefore: '--modified-before',
  limit: '--limit',
  cursor: '--cursor',
};

export function registerSearch(program: Command, r: Registrar): void {
  r.leaf<SearchOpts>(
    program
      .command('search')
      .description('search the object index (key, size, time, metadata, text)')
      .argument('[text]', 'free text to match in keys and metadata')
      .addOption(new Option('--bucket <bucket>', 'only this bucket').argParser(nonEmptyArg))
      .addOption(new Option('--prefix <prefix>', 'only keys under this key prefix'))
      .addOption(
        new Option('--meta <key=value>', 'user metadata to match (repeatable)').argParser(
          keyValueArg,
        ),
      )
      .addOption(
        new Option('--min-size <size>', 'at least this size (1024, 10KB, 1.5MiB)').argParser(
          parseSize,
        ),
      )
      .addOption(new Option('--max-size <size>', 'at most this size').argParser(parseSize))
      .addOption(
        new Option(
          '--modified-after <time>',
          'modified after (ISO, epoch ms, or an age like 7d)',
        ).argParser((v) => parseTime(v)),
      )
      .addOption(
        new Option(
          '--modified-before <time>',
          'modified before (ISO, epoch ms, or an age)',
        ).argParser((v) => parseTime(v)),
      )
      .addOption(new Option('--limit <n>', 'results per page (1-1000)').argParser(intArg(1, 1000)))
      .option('--cursor <cursor>', 'continue after a previous page')
      .addOption(
        new Option('--timeout <duration>', 'how long to wait for the answer')
          .argParser(parseDuration)
          .default(10_000, '10s'),
      )
      .addHelpText(
        'after',
        '\nThe installation prefix goes before the command here: rfw --prefix <name> search ...',
      ),
    search,
    { prefix: false },
  );
}

function pick(o: Record<string, unknown>, keys: string[]): unknown {
  for (const k of keys) if (o[k] !== undefined) return o[k];
  return undefined;
}

/** Human bytes: 1.5 MiB. */
export function bytes(n: unknown): string | undefined {
  if (typeof n !== 'number') return undefined;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

function timeOf(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

async function search(ctx: CommandContext, o: SearchOpts, [text]: string[]): Promise<void> {
  if (o.minSize !== undefined && o.maxSize !== undefined && o.minSize > o.maxSize) {
    throw new UsageError('invalid --min-size: larger than --max-size');
  }
  if (
    o.modifiedAfter !== undefined &&
    o.modifiedBefore !== undefined &&
    o.modifiedAfter > o.modifiedBefore
  ) {
    throw new UsageError('invalid --modified-after: later than --modified-before');
  }
  const req: SearchRequest = {
    bucket: o.bucket,
    prefix: o.prefix,
    text,
    metadata: o.meta,
    minSize: o.minSize,
    maxSize: o.maxSize,
    modifiedAfter: o.modifiedAfter,
    modifiedBefore: o.modifiedBefore,
    limit: o.limit,
    cursor: o.cursor,
  };
  // The service's own schema: a bad request is refused here, naming the flag.
  const checked = SearchRequest.safeParse(req);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    const field = issue?.path.map(String).join('.') ?? '';
    throw new UsageError(
      `invalid ${FIELD_FLAGS[field] ?? field}: ${issue?.message ?? 'is invalid'}`,
    );
  }
  const session = ctx.session();
  const nc = await session.connection();
  const subject = session.names.apiSubject('search');
  let reply: unknown;
  try {
    const m = await nc.request(subject, encodeJson(req), { timeout: o.timeout });
    reply = decodeJson<unknown>(m.data);
  } catch (err) {
    const noResponders =
      err instanceof NoRespondersError || (err instanceof RequestError && err.isNoResponders());
    if (noResponders) {
      throw new OperationFailedError(
        `no search service answers on ${subject}: is the indexing worker running (with prefix ${session.target.prefix})?`,
      );
    }
    if (
      err instanceof TimeoutError ||
      (err instanceof RequestError && err.cause instanceof TimeoutError)
    ) {
      throw new OperationFailedError(
        `the search service did not answer on ${subject} within ${o.timeout} ms`,
      );
    }
    if (err instanceof SyntaxError) {
      throw new OperationFailedError(
        `the search service sent a reply that is not JSON: ${err.message}`,
      );
    }
    throw err;
  }
  const body = (typeof reply === 'object' && reply !== null ? reply : {}) as Record<
    string,
    unknown
  >;
  if (body.error !== undefined) throw serviceError(body.error);
  if (ctx.out.json) {
    ctx.out.data(reply);
    return;
  }
  const list = Array.isArray(reply)
    ? reply
    : pick(body, ['results', 'items', 'objects', 'hits', 'matches']);
  if (!Array.isArray(list)) {
    ctx.out.data(reply);
    return;
  }
  const now = Date.now();
  ctx.out.table(
    ['BUCKET', 'KEY', 'SIZE', 'MODIFIED', 'TYPE', 'METADATA'],
    list.map((item: unknown) => {
      const i = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
      return [
        pick(i, ['bucket']) as string | undefined,
        clip(pick(i, ['key', 'name', 'path']) as string | undefined, 80),
        bytes(pick(i, ['size', 'bytes'])),
        ago(timeOf(pick(i, ['mtime', 'modifiedAt', 'lastModified', 'modified', 'mtimeMs'])), now),
        pick(i, ['contentType', 'type', 'mime']) as string | undefined,
        compactJson(pick(i, ['metadata', 'userMetadata', 'meta']), 50),
      ];
    }),
    '(no matches)',
  );
  const next = pick(body, ['nextCursor', 'cursor']);
  const total = pick(body, ['total', 'count']);
  if (typeof total === 'number') ctx.out.note(`${list.length} shown of ${total}`);
  if (typeof next === 'string' && next !== '') ctx.out.note(`more: add --cursor ${next}`);
}

/** The service's `error` field as an exit-1 failure, or a usage error when it names a field. */
function serviceError(error: unknown): Error {
  if (typeof error === 'string') return new OperationFailedError(`search failed: ${error}`);
  const e = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  const message = typeof e.message === 'string' ? e.message : JSON.stringify(error);
  if (typeof e.field === 'string') {
    return new UsageError(`invalid ${FIELD_FLAGS[e.field] ?? e.field}: ${message}`);
  }
  return new OperationFailedError(`search failed: ${message}`);
}
