/**
 * Follows the stored schedules (`schedule.<name>` keys of the control bucket,
 * written by `JobQueue.schedules`) and hands the whole set to a callback on
 * every change. The watch of updates starts before the first read, and each
 * key keeps the highest revision seen, so no change between the two is lost
 * and none is applied out of order. A value that is not a valid schedule
 * (written by another tool) is logged and left out.
 */
import type { KvWatchEntry } from '@nats-io/kv';
import {
  SCHEDULE_KEYS,
  bucketKeys,
  decodeStoredSchedule,
  type CoreContext,
  type Logger,
  type StoredSchedule,
} from '@rfw/core/internal';

type Stop = () => void;

export class ScheduleWatch {
  readonly #current = new Map<string, { revision: number; s?: StoredSchedule }>();
  #stop?: Stop;

  constructor(
    private readonly ctx: CoreContext,
    private readonly onChange: (stored: Map<string, StoredSchedule>) => void,
    private readonly log: Logger,
  ) {}

  /** Start following; resolves once the stored schedules have been read once. */
  async start(): Promise<void> {
    const kv = this.ctx.control;
    const watch = await kv.watch({ key: SCHEDULE_KEYS, include: 'updates' as never });
    this.#stop = () => watch.stop();
    void (async () => {
      for await (const e of watch) this.#seen(e);
    })().catch((err: Error) => this.log.warn({ err: err.message }, 'schedule watch ended'));
    const keys = await bucketKeys(kv, SCHEDULE_KEYS);
    const entries = await Promise.all(keys.map((k) => kv.get(k)));
    for (const e of entries) if (e) this.#seen(e, false);
    this.#emit();
  }

  stop(): void {
    this.#stop?.();
    this.#stop = undefined;
  }

  #seen(e: Pick<KvWatchEntry, 'key' | 'revision' | 'operation' | 'value'>, emit = true): void {
    const name = e.key.slice('schedule.'.length);
    const cur = this.#current.get(name);
    if (cur && cur.revision >= e.revision) return;
    let s: StoredSchedule | undefined;
    if (e.operation === 'PUT') {
      s = decodeStoredSchedule(e.value);
      if (!s || s.schedule.name !== name)
        this.log.warn({ key: e.key, revision: e.revision }, 'not a valid stored schedule: ignored');
    }
    this.#current.set(name, { revision: e.revision, s: s?.schedule.name === name ? s : undefined });
    if (emit) this.#emit();
  }

  #emit(): void {
    const out = new Map<string, StoredSchedule>();
    for (const [name, { s }] of this.#current) if (s) out.set(name, s);
    this.onChange(out);
  }
}
