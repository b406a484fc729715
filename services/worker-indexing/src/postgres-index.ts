/**
 * The shared index: PostgreSQL, for installations that run several indexer
 * instances. Keys use `COLLATE "C"` so their order is UTF-8 byte order, the
 * order of the stores' listings. Metadata is `jsonb` (GIN, `@>`); words are a
 * `text[]` matched by prefix.
 */
import type pg from 'pg';
import {
  SIZE_BINS,
  emptyHistogram,
  entryTokens,
  type IndexEntry,
  type IndexStore,
  type ScanCheckpoint,
  type ScanPage,
  type SearchPage,
  type SearchQuery,
  type UsageQuery,
  type UsageReport,
  type UsageTotals,
} from './index-types.js';
import { loadPg } from './load-pg.js';
import { totalsFromRow } from './sqlite-index.js';

/** Options of {@link PostgresIndexStore}. */
export interface PostgresIndexOptions {
  /** `postgres://...` connection string. */
  connectionString: string;
  /** Schema holding the tables (created if missing). @default 'public' */
  schema?: string;
  /** Pool size. @default 5 */
  maxConnections?: number;
}

interface ObjectRow {
  bucket: string;
  key: string;
  size: string;
  content_type: string;
  mtime: string;
  etag: string;
  sha256: string;
  version_id: string;
  meta: Record<string, string>;
  tags: Record<string, string> | null;
}

function rowToEntry(r: ObjectRow): IndexEntry {
  const e: IndexEntry = {
    bucket: r.bucket,
    key: r.key,
    size: Number(r.size),
    contentType: r.content_type,
    mtime: Number(r.mtime),
    etag: r.etag,
    sha256: r.sha256,
    versionId: r.version_id,
    userMetadata: r.meta,
  };
  if (r.tags !== null) e.tags = r.tags;
  return e;
}

function histogramColumns(): string {
  const cols: string[] = [];
  let lower = 0;
  for (const [i, upper] of SIZE_BINS.entries()) {
    cols.push(`count(*) FILTER (WHERE size >= ${lower} AND size < ${upper}) AS h${i}`);
    lower = upper;
  }
  cols.push(`count(*) FILTER (WHERE size >= ${lower}) AS h${SIZE_BINS.length}`);
  return cols.join(', ');
}

/** Columns of an `objects` row as upserted; rows per statement stay under 65,535 parameters. */
const UPSERT_COLUMNS = 12;
const UPSERT_ROWS = 1000;

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export class PostgresIndexStore implements IndexStore {
  readonly kind = 'postgres' as const;
  readonly schema: string;
  private readonly pool: pg.Pool;
  private readonly t: string;

  /** @throws TypeError when `schema` is not a plain lower-case identifier */
  constructor(options: PostgresIndexOptions) {
    this.schema = options.schema ?? 'public';
    if (!SCHEMA_NAME.test(this.schema))
      throw new TypeError(`schema must match ${SCHEMA_NAME.source}`);
    this.t = `"${this.schema}"`;
    const { Pool } = loadPg();
    this.pool = new Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 5,
    });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    this.pool.on('error', () => undefined);
  }

  async init(): Promise<void> {
    const t = this.t;
    const client = await this.pool.connect();
    try {
      // Several instances may start at once: serialize schema creation.
      await client.query('BEGIN');
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('rfw-index-schema:' || $1))`, [
        this.schema,
      ]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${t}`);
      await client.query(`
        CREATE TABLE IF NOT EXISTS ${t}.objects (
          bucket text COLLATE "C" NOT NULL,
          key text COLLATE "C" NOT NULL,
          size bigint NOT NULL,
          content_type text NOT NULL,
          mtime bigint NOT NULL,
          etag text NOT NULL,
          sha256 text NOT NULL,
          version_id text NOT NULL,
          meta jsonb NOT NULL,
          tags jsonb,
          words text[] NOT NULL,
          indexed_at bigint NOT NULL,
          PRIMARY KEY (bucket, key)
        )`);
      await client.query(
        `CREATE INDEX IF NOT EXISTS objects_bucket_size ON ${t}.objects (bucket, size)`,
      );
      await client.query(
        `CREATE INDEX IF NOT EXISTS objects_bucket_mtime ON ${t}.objects (bucket, mtime)`,
      );
      await client.query(
        `CREATE INDEX IF NOT EXISTS objects_meta ON ${t}.objects USING gin (meta jsonb_path_ops)`,
      );
      await client.query(`
        CREATE TABLE IF NOT EXISTS ${t}.scan_checkpoints (
          bucket text NOT NULL,
          node text NOT NULL,
          job_id text NOT NULL,
          cursor text COLLATE "C" NOT NULL,
          indexed bigint NOT NULL,
          removed bigint NOT NULL,
          started_at bigint NOT NULL,
          updated_at bigint NOT NULL,
          PRIMARY KEY (bucket, node)
        )`);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * Upserts `entries` with one statement per {@link UPSERT_ROWS} rows. A key listed twice keeps
   * its last entry, as one statement per entry in turn would (and as one statement must: a row
   * cannot be updated twice by the same `INSERT ... ON CONFLICT`).
   */
  private async upsertWith(
    q: pg.ClientBase | pg.Pool,
    entries: readonly IndexEntry[],
    now: number,
  ): Promise<void> {
    const last = new Map<string, IndexEntry>();
    for (const e of entries) {
      const id = `${e.bucket}\u0000${e.key}`;
      last.delete(id);
      last.set(id, e);
    }
    const rows = [...last.values()];
    for (let i = 0; i < rows.length; i += UPSERT_ROWS) {
      const args: unknown[] = [];
      const values: string[] = [];
      for (const e of rows.slice(i, i + UPSERT_ROWS)) {
        const n = args.length;
        values.push(
          `(${Array.from({ length: UPSERT_COLUMNS }, (_, c) => `$${n + c + 1}`).join(', ')})`,
        );
        args.push(
          e.bucket,
          e.key,
          e.size,
          e.contentType,
          e.mtime,
          e.etag,
          e.sha256,
          e.versionId,
          JSON.stringify(e.userMetadata),
          e.tags === undefined ? null : JSON.stringify(e.tags),
          entryTokens(e),
          now,
        );
      }
      await q.query(
        `INSERT INTO ${this.t}.objects (bucket, key, size, content_type, mtime, etag, sha256, version_id, meta, tags, words, indexed_at)
         VALUES ${values.join(', ')}
         ON CONFLICT (bucket, key) DO UPDATE SET size = excluded.size, content_type = excluded.content_type,
           mtime = excluded.mtime, etag = excluded.etag, sha256 = excluded.sha256, version_id = excluded.version_id,
           meta = excluded.meta, tags = excluded.tags, words = excluded.words, indexed_at = excluded.indexed_at`,
        args,
      );
    }
  }

  async upsert(entry: IndexEntry): Promise<void> {
    await this.upsertWith(this.pool, [entry], Date.now());
  }

  async remove(bucket: string, key: string): Promise<boolean> {
    const r = await this.pool.query(
      `DELETE FROM ${this.t}.objects WHERE bucket = $1 AND key = $2`,
      [bucket, key],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async applyScanPage(page: ScanPage): Promise<{ removed: number }> {
    const client = await this.pool.connect();
    const now = Date.now();
    try {
      await client.query('BEGIN');
      await this.upsertWith(client, page.entries, now);
      let removed = 0;
      if (page.removeMissing) {
        const args: unknown[] = [page.bucket, page.entries.map((e) => e.key)];
        const where = ['bucket = $1', 'NOT (key = ANY ($2::text[]))'];
        if (page.from !== undefined) {
          args.push(page.from);
          where.push(`key > $${args.length}`);
        }
        if (page.to !== undefined) {
          args.push(page.to);
          where.push(`key <= $${args.length}`);
        }
        const r = await client.query(
          `DELETE FROM ${this.t}.objects WHERE ${where.join(' AND ')}`,
          args,
        );
        removed = r.rowCount ?? 0;
      }
      const cp = page.checkpoint;
      if (cp) {
        await client.query(
          `INSERT INTO ${this.t}.scan_checkpoints (bucket, node, job_id, cursor, indexed, removed, started_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (bucket, node) DO UPDATE SET job_id = excluded.job_id, cursor = excluded.cursor,
             indexed = excluded.indexed, removed = excluded.removed, started_at = excluded.started_at, updated_at = excluded.updated_at`,
          [
            cp.bucket,
            cp.node,
            cp.jobId,
            cp.cursor,
            cp.indexed,
            cp.removed + removed,
            cp.startedAt,
            cp.updatedAt,
          ],
        );
      } else {
        await client.query(
          `DELETE FROM ${this.t}.scan_checkpoints WHERE bucket = $1 AND node = $2`,
          [page.bucket, page.node],
        );
      }
      await client.query('COMMIT');
      return { removed };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async getCheckpoint(bucket: string, node: string): Promise<ScanCheckpoint | undefined> {
    const r = await this.pool.query(
      `SELECT * FROM ${this.t}.scan_checkpoints WHERE bucket = $1 AND node = $2`,
      [bucket, node],
    );
    const row = r.rows[0] as Record<string, string> | undefined;
    if (!row) return undefined;
    return {
      bucket: row.bucket!,
      node: row.node!,
      jobId: row.job_id!,
      cursor: row.cursor!,
      indexed: Number(row.indexed),
      removed: Number(row.removed),
      startedAt: Number(row.started_at),
      updatedAt: Number(row.updated_at),
    };
  }

  async search(q: SearchQuery): Promise<SearchPage> {
    const where: string[] = [];
    const args: unknown[] = [];
    const p = (v: unknown): string => (args.push(v), `$${args.length}`);
    if (q.bucket !== undefined) where.push(`bucket = ${p(q.bucket)}`);
    if (q.prefix !== undefined) {
      const ref = p(q.prefix);
      where.push(`key >= ${ref} AND starts_with(key, ${ref})`);
    }
    if (q.minSize !== undefined) where.push(`size >= ${p(q.minSize)}`);
    if (q.maxSize !== undefined) where.push(`size <= ${p(q.maxSize)}`);
    if (q.modifiedAfter !== undefined) where.push(`mtime > ${p(q.modifiedAfter)}`);
    if (q.modifiedBefore !== undefined) where.push(`mtime < ${p(q.modifiedBefore)}`);
    if (q.metadata) where.push(`meta @> ${p(JSON.stringify(q.metadata))}::jsonb`);
    for (const token of q.textTokens ?? []) {
      where.push(`EXISTS (SELECT 1 FROM unnest(words) w WHERE starts_with(w, ${p(token)}))`);
    }
    if (q.after) where.push(`(bucket, key) > (${p(q.after.bucket)}, ${p(q.after.key)})`);
    const sql = `SELECT bucket, key, size, content_type, mtime, etag, sha256, version_id, meta, tags
      FROM ${this.t}.objects ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY bucket, key LIMIT ${p(q.limit + 1)}`;
    const rows = (await this.pool.query(sql, args)).rows as ObjectRow[];
    const results = rows.slice(0, q.limit).map(rowToEntry);
    const last = results[results.length - 1];
    return rows.length > q.limit && last
      ? { results, after: { bucket: last.bucket, key: last.key } }
      : { results };
  }

  async usage(q: UsageQuery): Promise<UsageReport> {
    const where: string[] = [];
    const args: unknown[] = [];
    const p = (v: unknown): string => (args.push(v), `$${args.length}`);
    if (q.bucket !== undefined) where.push(`bucket = ${p(q.bucket)}`);
    if (q.prefix !== undefined) {
      const ref = p(q.prefix);
      where.push(`key >= ${ref} AND starts_with(key, ${ref})`);
    }
    const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const rows = (
      await this.pool.query(
        `SELECT bucket, count(*) AS objects, coalesce(sum(size), 0) AS bytes, ${histogramColumns()}
         FROM ${this.t}.objects ${filter} GROUP BY bucket ORDER BY bucket`,
        args,
      )
    ).rows as Array<Record<string, unknown>>;
    const buckets = rows.map((r) => ({ bucket: String(r.bucket), ...totalsFromRow(r) }));
    const total: UsageTotals = { objects: 0, bytes: 0, histogram: emptyHistogram() };
    for (const b of buckets) {
      total.objects += b.objects;
      total.bytes += b.bytes;
      b.histogram.forEach((bin, i) => (total.histogram[i]!.objects += bin.objects));
    }
    const report: UsageReport = { total, buckets };
    if (q.delimiter !== undefined) {
      const pre = p(q.prefix ?? '');
      const delim = p(q.delimiter);
      const rest = `substr(key, length(${pre}) + 1)`;
      const child = `CASE WHEN strpos(${rest}, ${delim}) > 0
        THEN substr(key, 1, length(${pre}) + strpos(${rest}, ${delim}) + length(${delim}) - 1) ELSE NULL END`;
      const limit = p(q.maxPrefixes + 2);
      const groups = (
        await this.pool.query(
          `SELECT child, count(*) AS objects, coalesce(sum(size), 0) AS bytes
           FROM (SELECT ${child} COLLATE "C" AS child, size FROM ${this.t}.objects ${filter}) s
           GROUP BY child ORDER BY child NULLS FIRST LIMIT ${limit}`,
          args,
        )
      ).rows as Array<{ child: string | null; objects: string; bytes: string }>;
      const direct = groups.find((g) => g.child === null);
      const prefixes = groups
        .filter((g) => g.child !== null)
        .map((g) => ({
          prefix: g.child as string,
          objects: Number(g.objects),
          bytes: Number(g.bytes),
        }));
      report.direct = { objects: Number(direct?.objects ?? 0), bytes: Number(direct?.bytes ?? 0) };
      report.prefixes = prefixes.slice(0, q.maxPrefixes);
      if (prefixes.length > q.maxPrefixes) report.prefixesTruncated = true;
    }
    return report;
  }

  async count(): Promise<number> {
    const r = await this.pool.query(`SELECT count(*) AS n FROM ${this.t}.objects`);
    return Number((r.rows[0] as { n: string }).n);
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}
