/**
 * Where every process's lines end up: stdout, pretty or as JSON lines. The
 * supervisor logs through the same sink, as the `supervisor` tag.
 */
import { formatLogLine, parseRecord, levelOf, wantsColour } from './log-format.js';

const ORDER = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];
const PINO: Record<string, number> = {
  TRACE: 10,
  DEBUG: 20,
  INFO: 30,
  WARN: 40,
  ERROR: 50,
  FATAL: 60,
};

export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface LogSinkOptions {
  format: 'pretty' | 'json';
  /** Lowest level printed for the supervisor's own records and raw lines. @default 'info' */
  level?: string;
  out?: NodeJS.WritableStream & { isTTY?: boolean };
  colour?: boolean;
}

export class LogSink {
  readonly #out: NodeJS.WritableStream & { isTTY?: boolean };
  readonly #format: 'pretty' | 'json';
  readonly #colour: boolean;
  readonly #min: number;
  #tagWidth = 10;

  constructor(opts: LogSinkOptions) {
    this.#out = opts.out ?? process.stdout;
    this.#format = opts.format;
    this.#colour = opts.colour ?? wantsColour(this.#out);
    const i = ORDER.indexOf((opts.level ?? 'info').toUpperCase());
    this.#min = i < 0 ? 2 : i;
  }

  /** Pad tags to the longest name so messages line up. */
  reserveTag(tag: string): void {
    this.#tagWidth = Math.max(this.#tagWidth, tag.length);
  }

  /** A line printed by a child process named `tag`. */
  line(tag: string, line: string): void {
    if (line.trim() === '') return;
    const rec = parseRecord(line);
    if (rec && ORDER.indexOf(levelOf(rec)) < this.#min) return;
    if (this.#format === 'json') {
      this.#out.write(
        rec
          ? `${line.trim()}\n`
          : `${JSON.stringify({ level: 30, time: Date.now(), service: tag, msg: line })}\n`,
      );
      return;
    }
    this.#out.write(
      `${formatLogLine(tag, line, { colour: this.#colour, tagWidth: this.#tagWidth })}\n`,
    );
  }

  /** A record of the supervisor itself (or of a process that does not log JSON, like nats-server). */
  log(tag: string, level: Level, msg: string, fields: Record<string, unknown> = {}): void {
    this.line(
      tag,
      JSON.stringify({
        level: PINO[level.toUpperCase()],
        time: Date.now(),
        service: tag,
        msg,
        ...fields,
      }),
    );
  }
}

/** A small logger bound to one tag. */
export interface TagLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function tagLogger(sink: LogSink, tag: string): TagLogger {
  return {
    debug: (m, f) => sink.log(tag, 'debug', m, f),
    info: (m, f) => sink.log(tag, 'info', m, f),
    warn: (m, f) => sink.log(tag, 'warn', m, f),
    error: (m, f) => sink.log(tag, 'error', m, f),
  };
}
