/**
 * Checkpoints of long sweeps in the installation's control KV bucket
 * (`<prefix>_control`), keyed by job id: a sweep redelivered after a crash, a
 * timeout or a shutdown loads its checkpoint and goes on from there.
 */
import type { KV } from '@nats-io/kv';

export class CheckpointStore<T extends object> {
  /**
   * @param kv the control bucket (`WorkerManager.core.control`)
   * @param namespace key prefix, e.g. `checkpoint.replication-resync`; keys are `<namespace>.<jobId>`
   */
  constructor(
    private readonly kv: KV,
    readonly namespace: string,
  ) {}

  key(jobId: string): string {
    return `${this.namespace}.${jobId}`;
  }

  /** The saved checkpoint of `jobId`, if any. */
  async load(jobId: string): Promise<T | undefined> {
    const entry = await this.kv.get(this.key(jobId));
    if (!entry || entry.operation !== 'PUT' || entry.length === 0) return undefined;
    try {
      return entry.json<T>();
    } catch {
      return undefined;
    }
  }

  async save(jobId: string, value: T): Promise<void> {
    await this.kv.put(this.key(jobId), JSON.stringify(value));
  }

  /** Removes the checkpoint once the sweep is over. */
  async clear(jobId: string): Promise<void> {
    await this.kv.purge(this.key(jobId));
  }
}
