/**
 * What the CLI prints: JSON documents with `--json`, aligned tables and
 * `key: value` blocks otherwise. Results go to stdout; notices, progress and
 * errors to stderr, so piping stdout always gets clean data.
 */
import type { Writable } from 'node:stream';

export interface OutputStreams {
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean; columns?: number };
}

export type Cell = string | number | boolean | undefined | null;

export class Output {
  constructor(
    readonly json: boolean,
    readonly streams: OutputStreams = { stdout: process.stdout, stderr: process.stderr },
  ) {}

  /** A line on stdout. */
  line(text = ''): void {
    this.streams.stdout.write(`${text}\n`);
  }

  /** A notice on stderr (never mixed into data on stdout). */
  note(text: string): void {
    this.streams.stderr.write(`${text}\n`);
  }

  /** A JSON document on stdout (one line per call, for NDJSON streams). */
  data(value: unknown, pretty = true): void {
    this.streams.stdout.write(`${JSON.stringify(value, null, pretty ? 2 : undefined)}\n`);
  }

  /** An aligned table with a header row; prints `empty` when there are no rows. */
  table(headers: string[], rows: Cell[][], empty = '(none)'): void {
    if (rows.length === 0) {
      this.line(empty);
      return;
    }
    this.line(formatTable(headers, rows));
  }

  /** `key: value` lines, keys aligned; undefined values are left out. */
  fields(entries: Array<[string, Cell]>): void {
    const shown = entries.filter(([, v]) => v !== undefined && v !== null && v !== '');
    const width = Math.max(...shown.map(([k]) => k.length));
    for (const [k, v] of shown) this.line(`${`${k}:`.padEnd(width + 2)}${String(v)}`);
  }
}

export function formatTable(headers: string[], rows: Cell[][]): string {
  const text = rows.map((r) => r.map((c) => (c === undefined || c === null ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)));
  const render = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [render(headers), ...text.map(render)].join('\n');
}

/** "3s ago", "2m ago", "in 5m": compact relative time for tables. */
export function ago(at: number | undefined, now = Date.now()): string | undefined {
  if (at === undefined || !Number.isFinite(at)) return undefined;
  const d = now - at;
  const s = Math.round(Math.abs(d) / 1000);
  const text =
    s < 60
      ? `${s}s`
      : s < 3600
        ? `${Math.floor(s / 60)}m`
        : s < 86_400
          ? `${Math.floor(s / 3600)}h`
          : `${Math.floor(s / 86_400)}d`;
  return d >= 0 ? `${text} ago` : `in ${text}`;
}

/** ISO time of an epoch-ms timestamp. */
export function iso(at: number | undefined): string | undefined {
  return at === undefined || !Number.isFinite(at) ? undefined : new Date(at).toISOString();
}

/** A duration in ms as "850ms", "12.3s", "4m05s". */
export function duration(ms: number | undefined): string | undefined {
  if (ms === undefined) return undefined;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${m}m${String(s).padStart(2, '0')}s`;
}

/** Shorten a string for a table cell. */
export function clip(text: string | undefined, max = 60): string | undefined {
  if (text === undefined) return undefined;
  const one = text.replace(/\s+/g, ' ');
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

/** A compact one-line JSON rendering for table cells. */
export function compactJson(value: unknown, max = 60): string | undefined {
  if (value === undefined) return undefined;
  return clip(JSON.stringify(value), max);
}
