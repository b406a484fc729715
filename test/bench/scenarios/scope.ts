/** One scenario run: a fresh backend, the children started for it, and their cleanup. */
import { Child, openBackend, processCpuMs, redisCpuMs } from '../harness.js';
import type { ChildConfig } from '../protocol.js';
import type { Backend, SystemName } from '../systems/types.js';
import type { RunContext } from './types.js';

export type WorkerOptions = Omit<
  Extract<ChildConfig, { role: 'worker' }>,
  'role' | 'system' | 'backend'
>;

export interface RunScope {
  backend: Backend;
  producer(): Promise<Child>;
  worker(opts: WorkerOptions): Promise<Child>;
  /** Start `n` worker processes at once and wait until each is ready. */
  workers(n: number, opts: WorkerOptions): Promise<Child[]>;
}

export async function withRun<T>(
  system: SystemName,
  ctx: RunContext,
  fn: (scope: RunScope) => Promise<T>,
): Promise<T> {
  const opened = await openBackend(system);
  const children: Child[] = [];
  const start = async (config: ChildConfig, label: string): Promise<Child> => {
    const c = await Child.start(ctx.bundle, config, label, ctx.childExecArgv);
    children.push(c);
    return c;
  };
  const scope: RunScope = {
    backend: opened.backend,
    producer: () =>
      start({ role: 'producer', system, backend: opened.backend }, `${system} producer`),
    worker: (opts) =>
      start({ role: 'worker', system, backend: opened.backend, ...opts }, `${system} worker`),
    workers: (n, opts) =>
      Promise.all(
        Array.from({ length: n }, (_, i) =>
          start(
            { role: 'worker', system, backend: opened.backend, ...opts },
            `${system} worker ${i + 1}`,
          ),
        ),
      ),
  };
  const redisBefore = system === 'bullmq' ? await redisCpuMs() : 0;
  const add = (role: string, ms: number): void => {
    if (Number.isFinite(ms)) ctx.cpu[role] = (ctx.cpu[role] ?? 0) + ms;
  };
  try {
    return await fn(scope);
  } finally {
    for (const c of children) add(c.label.includes('producer') ? 'producer' : 'workers', c.cpuMs());
    if (system === 'bullmq') add('redis (shared)', (await redisCpuMs()) - redisBefore);
    else add('nats-server', processCpuMs(opened.server?.pid));
    await Promise.all(children.map((c) => c.kill()));
    await opened.close();
  }
}
