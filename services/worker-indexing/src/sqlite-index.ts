/**
 * The embedded index: one SQLite file (WAL mode) with an FTS5 table over the
 * words of each object's key and metadata values. For one indexer instance;
 * run several against PostgreSQL instead.
 *
 * Keys compare with SQLite's BINARY collation, i.e. UTF-8 byte order, the
 * order of the stores' listings.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
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

const SCHEMA = `
CREATE TABLE IF NOT EXISTS objects (
  id INTEGER PRIMARY KEY,
  bucket TEXT NOT NULL,
  key TEXT NOT NULL,
  size INTEGER NOT NULL,
  content_type TEXT NOT NULL,
  mtime INTEGER NOT NULL,
  etag TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  version_id TEXT NOT NULL,
  meta TEXT NOT NULL,
  tags TEXT,
  words TEXT NOT NULL,
  indexed_at INTEGER NOT NULL,
  UNIQUE (bucket, key)
);
CREATE INDEX IF NOT EXISTS objects_bucket_size ON objects (bucket, size);
CREATE INDEX IF NOT EXISTS objects_bucket_mtime ON objects (bucket, mtime);
CREATE TABLE IF NOT EXISTS object_meta (
  object_id INTEGER NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (name, value, object_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS object_meta_object ON object_meta (object_id);
CREATE VIRTUAL TABLE IF NOT EXISTS objects_fts USING fts5 (
  words, content = 'objects', content_rowid = 'id',
  tokenize = 'unicode61 remove_diacritics 0', prefix = '2 3'
);
CREATE TRIGGER IF NOT EXISTS objects_ai AFTER INSERT ON objects BEGIN
  INSERT INTO objects_fts (rowid, words) VALUES (new.id, new.words);
END;
CREATE TRIGGER IF NOT EXISTS objects_ad AFTER DELETE ON objects BEGIN
  INSERT INTO objects_fts (objects_fts, rowid, words) VALUES ('delete', old.id, old.words);
END;
CREATE TRIGGER IF NOT EXISTS objects_au AFTER UPDATE OF words ON objects BEGIN
  INSERT INTO objects_fts (objects_fts, rowid, words) VALUES ('delete', old.id, old.words);
  INSERT INTO objects_fts (rowid, words) VALUES (new.id, new.words);
END;
CREATE TABLE IF NOT EXISTS scan_checkpoints (
  bucket TEXT NOT NULL,
  node TEXT NOT NULL,
  job_id TEXT NOT NULL,
  cursor TEXT NOT NULL,
  indexed INTEGER NOT NULL,
  removed INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (bucket, node)
);
`;

interface ObjectRow {
  bucket: string;
  key: string;
  size: number;
  content_type: string;
  mtime: number;
  etag: string;
  sha256: string;
  version_id: string;
  meta: string;
  tags: string | null;
}

interface CheckpointRow {
  bucket: string;
  node: string;
  job_id: string;
  cursor: string;
  indexed: number;
  removed: number;
  started_at: number;
  updated_at: number;
}

function rowToEntry(r: ObjectRow): IndexEntry {
  const e: IndexEntry = {
    bucket: r.bucket,
    key: r.key,
    size: r.size,
    contentType: r.content_type,
    mtime: r.mtime,
    etag: r.etag,
    sha256: r.sha256,
    versionId: r.version_id,
    userMetadata: JSON.parse(r.meta) as Record<string, string>,
  };
  if (r.tags !== null) e.tags = JSON.parse(r.tags) as Record<string, string>;
  return e;
}

/** SQL for a size histogram over `objects` rows in scope. */
function histogramColumns(): string {
  const cols: string[] = [];
  let lower = 0;
  for (const [i, upper] of SIZE_BINS.entries()) {
    cols.push(`sum(CASE WHEN size >= ${lower} AND size < ${upper} THEN 1 ELSE 0 END) AS h${i}`);
    lower = upper;
  }
  cols.push(`sum(CASE WHEN size >= ${lower} THEN 1 ELSE 0 END) AS h${SIZE_BINS.length}`);
  return cols.join(', ');
}

/** Turns a row with `objects`, `bytes`, `h0..hN` into totals. */
export function totalsFromRow(row: Record<string, unknown>): UsageTotals {
  const histogram = emptyHistogram();
  histogram.forEach((bin, i) => (bin.objects = Number(row[`h${i}`] ?? 0)));
  return { objects: Number(row.objects ?? 0), bytes: Number(row.bytes ?? 0), histogram };
}

/** Quotes a word for an FTS5 prefix query (words hold letters and digits only). */
function ftsPrefix(token: string): string {
  return `"${token.replaceAll('"', '""')}"*`;
}

export class SqliteIndexStore implements IndexStore {
  readonly kind = 'sqlite' as const;
  private db: Database.Database | undefined;
  /** Statements of the write path, prepared once per connection (a scan runs them per object). */
  private readonly statements = new Map<string, Database.Statement>();

  /** @param file path of the SQLite file (created with its directory), or `:memory:` */
  constructor(readonly file: string) {}

  private get conn(): Database.Database {
    if (!this.db) throw new Error('index store is not open (call init())');
    return this.db;
  }

  async init(): Promise<void> {
    if (this.db) return;
    if (this.file !== ':memory:')
      fs.mkdirSync(path.dirname(path.resolve(this.file)), { recursive: true });
    const db = new Database(this.file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
    this.db = db;
  }

  private statement(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.conn.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  private upsertSync(e: IndexEntry, now: number): void {
    const row = this.statement(
      `INSERT INTO objects (bucket, key, size, content_type, mtime, etag, sha256, version_id, meta, tags, words, indexed_at)
         VALUES (@bucket, @key, @size, @contentType, @mtime, @etag, @sha256, @versionId, @meta, @tags, @words, @now)
         ON CONFLICT (bucket, key) DO UPDATE SET size = excluded.size, content_type = excluded.content_type,
           mtime = excluded.mtime, etag = excluded.etag, sha256 = excluded.sha256, version_id = excluded.version_id,
           meta = excluded.meta, tags = excluded.tags, words = excluded.words, indexed_at = excluded.indexed_at
         RETURNING id`,
    ).get({
      bucket: e.bucket,
      key: e.key,
      size: e.size,
      contentType: e.contentType,
      mtime: e.mtime,
      etag: e.etag,
      sha256: e.sha256,
      versionId: e.versionId,
      meta: JSON.stringify(e.userMetadata),
      tags: e.tags === undefined ? null : JSON.stringify(e.tags),
      words: entryTokens(e).join(' '),
      now,
    }) as { id: number };
    this.statement('DELETE FROM object_meta WHERE object_id = ?').run(row.id);
    const ins = this.statement('INSERT INTO object_meta (object_id, name, value) VALUES (?, ?, ?)');
    for (const [name, value] of Object.entries(e.userMetadata)) ins.run(row.id, name, value);
  }

  async upsert(entry: IndexEntry): Promise<void> {
    const now = Date.now();
    this.conn.transaction(() => this.upsertSync(entry, now))();
  }

  async remove(bucket: string, key: string): Promise<boolean> {
    return (
      this.conn.prepare('DELETE FROM objects WHERE bucket = ? AND key = ?').run(bucket, key)
        .changes > 0
    );
  }

  async applyScanPage(page: ScanPage): Promise<{ removed: number }> {
    const db = this.conn;
    const now = Date.now();
    return db.transaction(() => {
      for (const e of page.entries) this.upsertSync(e, now);
      let removed = 0;
      if (page.removeMissing) {
        const listed = new Set(page.entries.map((e) => e.key));
        const where = ['bucket = ?'];
        const args: string[] = [page.bucket];
        const add = (clause: string, ...vals: string[]): void => {
          where.push(clause);
          args.push(...vals);
        };
        if (page.from !== undefined) add('key > ?', page.from);
        if (page.to !== undefined) add('key <= ?', page.to);
        const existing = db
          .prepare(`SELECT key FROM objects WHERE ${where.join(' AND ')}`)
          .pluck()
          .all(...args) as string[];
        const del = db.prepare('DELETE FROM objects WHERE bucket = ? AND key = ?');
        for (const k of existing) if (!listed.has(k)) removed += del.run(page.bucket, k).changes;
      }
      const cp = page.checkpoint;
      if (cp) {
        db.prepare(
          `INSERT INTO scan_checkpoints (bucket, node, job_id, cursor, indexed, removed, started_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (bucket, node) DO UPDATE SET job_id = excluded.job_id, cursor = excluded.cursor,
             indexed = excluded.indexed, removed = excluded.removed, started_at = excluded.started_at, updated_at = excluded.updated_at`,
        ).run(
          cp.bucket,
          cp.node,
          cp.jobId,
          cp.cursor,
          cp.indexed,
          cp.removed + removed,
          cp.startedAt,
          cp.updatedAt,
        );
      } else {
        db.prepare('DELETE FROM scan_checkpoints WHERE bucket = ? AND node = ?').run(
          page.bucket,
          page.node,
        );
      }
      return { removed };
    })();
  }

  async getCheckpoint(bucket: string, node: string): Promise<ScanCheckpoint | undefined> {
    const r = this.conn
      .prepare('SELECT * FROM scan_checkpoints WHERE bucket = ? AND node = ?')
      .get(bucket, node) as CheckpointRow | undefined;
    if (!r) return undefined;
    return {
      bucket: r.bucket,
      node: r.node,
      jobId: r.job_id,
      cursor: r.cursor,
      indexed: r.indexed,
      removed: r.removed,
      startedAt: r.started_at,
      updatedAt: r.updated_at,
    };
  }

  async search(q: SearchQuery): Promise<SearchPage> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (clause: string, ...vals: unknown[]): void => {
      where.push(clause);
      args.push(...vals);
    };
    if (q.bucket !== undefined) add('o.bucket = ?', q.bucket);
    if (q.prefix !== undefined) {
      where.push('o.key >= ? AND substr(o.key, 1, length(?)) = ?');
      args.push(q.prefix, q.prefix, q.prefix);
    }
    if (q.minSize !== undefined) add('o.size >= ?', q.minSize);
    if (q.maxSize !== undefined) add('o.size <= ?', q.maxSize);
    if (q.modifiedAfter !== undefined) add('o.mtime > ?', q.modifiedAfter);
    if (q.modifiedBefore !== undefined) add('o.mtime < ?', q.modifiedBefore);
    for (const [name, value] of Object.entries(q.metadata ?? {})) {
      where.push(
        'EXISTS (SELECT 1 FROM object_meta m WHERE m.name = ? AND m.value = ? AND m.object_id = o.id)',
      );
      args.push(name, value);
    }
    if (q.textTokens && q.textTokens.length > 0) {
      where.push('o.id IN (SELECT rowid FROM objects_fts WHERE objects_fts MATCH ?)');
      args.push(q.textTokens.map(ftsPrefix).join(' AND '));
    }
    if (q.after) {
      where.push('(o.bucket > ? OR (o.bucket = ? AND o.key > ?))');
      args.push(q.after.bucket, q.after.bucket, q.after.key);
    }
    const sql = `SELECT o.* FROM objects o ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY o.bucket, o.key LIMIT ?`;
    const rows = this.conn.prepare(sql).all(...args, q.limit + 1) as ObjectRow[];
    const results = rows.slice(0, q.limit).map(rowToEntry);
    const last = results[results.length - 1];
    return rows.length > q.limit && last
      ? { results, after: { bucket: last.bucket, key: last.key } }
      : { results };
  }

  async usage(q: UsageQuery): Promise<UsageReport> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (clause: string, ...vals: unknown[]): void => {
      where.push(clause);
      args.push(...vals);
    };
    if (q.bucket !== undefined) add('bucket = ?', q.bucket);
    if (q.prefix !== undefined)
      add('key >= ? AND substr(key, 1, length(?)) = ?', q.prefix, q.prefix, q.prefix);
    const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const db = this.conn;
    const rows = db
      .prepare(
        `SELECT bucket, count(*) AS objects, coalesce(sum(size), 0) AS bytes, ${histogramColumns()} FROM objects ${filter} GROUP BY bucket ORDER BY bucket`,
      )
      .all(...args) as Array<Record<string, unknown>>;
    const buckets = rows.map((r) => ({ bucket: String(r.bucket), ...totalsFromRow(r) }));
    const total: UsageTotals = { objects: 0, bytes: 0, histogram: emptyHistogram() };
    for (const b of buckets) {
      total.objects += b.objects;
      total.bytes += b.bytes;
      b.histogram.forEach((bin, i) => (total.histogram[i]!.objects += bin.objects));
    }
    const report: UsageReport = { total, buckets };
    if (q.delimiter !== undefined) {
      const p = q.prefix ?? '';
      const child = `CASE WHEN instr(substr(key, length(?) + 1), ?) > 0
        THEN substr(key, 1, length(?) + instr(substr(key, length(?) + 1), ?) + length(?) - 1) ELSE NULL END`;
      const groups = db
        .prepare(
          `SELECT ${child} AS child, count(*) AS objects, coalesce(sum(size), 0) AS bytes FROM objects ${filter}
           GROUP BY child ORDER BY child LIMIT ?`,
        )
        .all(p, q.delimiter, p, p, q.delimiter, q.delimiter, ...args, q.maxPrefixes + 2) as Array<{
        child: string | null;
        objects: number;
        bytes: number;
      }>;
      const direct = groups.find((g) => g.child === null);
      const prefixes = groups
        .filter((g) => g.child !== null)
        .map((g) => ({ prefix: g.child as string, objects: g.objects, bytes: g.bytes }));
      report.direct = { objects: direct?.objects ?? 0, bytes: direct?.bytes ?? 0 };
      report.prefixes = prefixes.slice(0, q.maxPrefixes);
      if (prefixes.length > q.maxPrefixes) report.prefixesTruncated = true;
    }
    return report;
  }

  async count(): Promise<number> {
    return (this.conn.prepare('SELECT count(*) AS n FROM objects').get() as { n: number }).n;
  }

  async ping(): Promise<void> {
    this.conn.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    this.statements.clear();
    this.db?.close();
    this.db = undefined;
  }
}
