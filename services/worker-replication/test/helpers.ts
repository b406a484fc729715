import fs from 'node:fs/promises';
import path from 'node:path';
import { decodeJson, type Job, type JobQueue } from '@rfw/core/internal';
import { waitForJobState } from '@rfw/testkit';

/** Resolves with the job once it is succeeded, dead or cancelled. */
export function finished(queue: JobQueue, id: string, timeoutMs = 45_000): Promise<Job> {
  return waitForJobState(queue, id, ['succeeded', 'dead', 'cancelled'], timeoutMs);
}

/** Collects the JSON of every message on `<prefix>.events.<type>.*.<state>` (subscribe before acting). */
export function collect<T = Record<string, unknown>>(
  queue: JobQueue,
  type: string,
  state: string,
): T[] {
  const out: T[] = [];
  queue.ctx.nc.subscribe(`${queue.ctx.names.prefix}.events.${type}.*.${state}`, {
    callback: (_err, msg) => {
      try {
        out.push(decodeJson<T>(msg.data));
      } catch {
        // not JSON
      }
    },
  });
  return out;
}

/** Inode and mtime of an object's data file on a file node. */
export async function dataStamp(
  root: string,
  bucket: string,
  key: string,
): Promise<{ file: string; ino: number; mtimeMs: number }> {
  const dir = path.join(root, bucket, ...key.split('/'));
  const meta = JSON.parse(await fs.readFile(path.join(dir, '.rfw.meta.json'), 'utf8')) as {
    dataFile: string;
  };
  const st = await fs.stat(path.join(dir, meta.dataFile));
  return { file: meta.dataFile, ino: st.ino, mtimeMs: st.mtimeMs };
}

/** The `http` URL a service printed in its `service ready` line. */
export function httpUrl(readyLine: string): string {
  return (JSON.parse(readyLine) as { http: string }).http;
}

/** The value of one sample in a Prometheus text exposition (labels matched as a substring). */
export function sample(text: string, name: string, labels: string): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) || !line.includes(labels)) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}
