/**
 * One readable log stream for many processes: each pino JSON line becomes
 * `[worker-healing] 12:00:01 INFO job dead-lettered jobId=...`, the tag
 * coloured per service and the level coloured by severity. Lines that are not
 * JSON (a stack trace printed by Node, nats-server's own log) are kept as they
 * are, tagged.
 */

/** pino's numeric levels. */
const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

const ESC = '\u001b[';
const RESET = `${ESC}0m`;
const DIM = `${ESC}2m`;
const LEVEL_COLOURS: Record<string, string> = {
  TRACE: `${ESC}90m`,
  DEBUG: `${ESC}90m`,
  INFO: `${ESC}32m`,
  WARN: `${ESC}33m`,
  ERROR: `${ESC}31m`,
  FATAL: `${ESC}1;31m`,
};
/** Distinct, readable on dark and light terminals. */
const TAG_COLOURS = ['36', '35', '34', '33', '32', '96', '95', '94', '93', '92', '91'].map(
  (c) => `${ESC}${c}m`,
);

/** Fields every pino record carries that the pretty line shows in its own place (or drops). */
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service', 'v']);

export interface LogFormatOptions {
  /** Use ANSI colours. */
  colour: boolean;
  /** Width the tags are padded to, so messages line up. @default 0 */
  tagWidth?: number;
}

/** Should output to this stream be coloured? Honours NO_COLOR and FORCE_COLOR. */
export function wantsColour(
  stream: { isTTY?: boolean },
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return stream.isTTY === true;
}

/** A stable colour per tag, so a service keeps its colour across restarts. */
export function tagColour(tag: string): string {
  let h = 0;
  for (let i = 0; i < tag.length; i++) h = (h * 31 + tag.charCodeAt(i)) >>> 0;
  return TAG_COLOURS[h % TAG_COLOURS.length] as string;
}

function clock(t: number): string {
  const d = new Date(t);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** `key=value`, quoting values with spaces or quotes, JSON for objects. */
function formatValue(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  if (v === undefined) return 'undefined';
  return JSON.stringify(v);
}

function formatField(key: string, v: unknown): string {
  // pino serialises errors as { type, message, stack }: one line keeps the message only.
  if ((key === 'err' || key === 'error') && v && typeof v === 'object' && 'message' in v) {
    const e = v as { type?: string; message?: unknown; code?: unknown };
    const type = e.type && e.type !== 'Error' ? `${e.type}: ` : '';
    const code = e.code !== undefined ? ` (${String(e.code)})` : '';
    return `${key}=${JSON.stringify(`${type}${String(e.message)}${code}`)}`;
  }
  return `${key}=${formatValue(v)}`;
}

/** Parse a pino JSON line; `undefined` when the line is not one. */
export function parseRecord(line: string): Record<string, unknown> | undefined {
  const s = line.trim();
  if (!s.startsWith('{') || !s.endsWith('}')) return undefined;
  try {
    const v = JSON.parse(s) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Level name of a record (`INFO` for a missing or unknown level). */
export function levelOf(rec: Record<string, unknown>): string {
  const l = rec.level;
  if (typeof l === 'number') return LEVELS[l] ?? 'INFO';
  if (typeof l === 'string') return l.toUpperCase();
  return 'INFO';
}

/** Format one line printed by process `tag`. Never throws; always one output line. */
export function formatLogLine(
  tag: string,
  line: string,
  opts: LogFormatOptions,
  now = Date.now(),
): string {
  const colour = opts.colour;
  const name = `[${tag}]`.padEnd((opts.tagWidth ?? 0) + 2);
  const head = colour ? `${tagColour(tag)}${name}${RESET}` : name;
  const rec = parseRecord(line);
  if (!rec) {
    const text = line.replace(/\s+$/, '');
    return `${head} ${colour ? DIM : ''}${clock(now)}${colour ? RESET : ''} ${text}`;
  }
  const level = levelOf(rec);
  const t = typeof rec.time === 'number' ? rec.time : now;
  const msg = typeof rec.msg === 'string' ? rec.msg : '';
  const fields = Object.entries(rec)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => formatField(k, v))
    .join(' ')
    .replace(/[\r\n]+/g, ' ');
  const lvl = colour ? `${LEVEL_COLOURS[level] ?? ''}${level}${RESET}` : level;
  const ts = colour ? `${DIM}${clock(t)}${RESET}` : clock(t);
  const body = fields ? `${msg} ${colour ? DIM : ''}${fields}${colour ? RESET : ''}` : msg;
  return `${head} ${ts} ${lvl} ${body}`.replace(/\s+$/, '');
}
