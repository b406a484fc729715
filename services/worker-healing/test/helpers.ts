import fs from 'node:fs/promises';
import path from 'node:path';
import type { Job, JobEvent, JobQueue } from '@rfw/core';
import { decodeJson } from '@rfw/core/internal';
import { waitForJobState } from '@rfw/testkit';

/** Identity of one file: if a file is rewritten (temp + rename) its inode changes. */
export interface FileStamp {
  ino: number;
  mtimeMs: number;
  size: number;
}

/** Every file under `root` (relative path -> stamp). */
export async function snapshot(root: string): Promise<Map<string, FileStamp>> {
  const out = new Map<string, FileStamp>();
  const walk = async (dir: string): Promise<void> => {
    for (const e of await fs.readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else {
        const st = await fs.stat(p);
        out.set(path.relative(root, p), { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size });
      }
    }
  };
  await walk(root);
  return out;
}

/** Files of one object's directory on one node (metadata sidecar and data). */
export async function objectFiles(
  root: string,
  bucket: string,
  key: string,
): Promise<Map<string, FileStamp>> {
  const dir = path.join(root, bucket, ...key.split('/'));
  const out = new Map<string, FileStamp>();
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith('.rfw.')) continue;
    const st = await fs.stat(path.join(dir, name));
    out.set(name, { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size });
  }
  return out;
}

/** The data file of an object on a file node. */
export async function dataFile(root: string, bucket: string, key: string): Promise<string> {
  const dir = path.join(root, bucket, ...key.split('/'));
  const meta = JSON.parse(await fs.readFile(path.join(dir, '.rfw.meta.json'), 'utf8')) as {
    dataFile: string;
  };
  return path.join(dir, meta.dataFile);
}

/** Resolves with the job once it is succeeded, dead or cancelled. */
export function finished(queue: JobQueue, id: string, timeoutMs = 45_000): Promise<Job> {
  return waitForJobState(queue, id, ['succeeded', 'dead', 'cancelled'], timeoutMs);
}

/** Collects live events of `type` in `state` (use before scheduling). */
export function collectEvents(queue: JobQueue, type: string, state: string): JobEvent[] {
  const events: JobEvent[] = [];
  queue.ctx.nc.subscribe(queue.ctx.names.eventSubject(type, '*', state as never), {
    callback: (_err, msg) => {
      try {
        events.push(decodeJson<JobEvent>(msg.data));
      } catch {
        // not an event
      }
    },
  });
  return events;
}
