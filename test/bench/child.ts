/**
 * A bench child process: a producer or a worker of one system, steered by
 * its parent over the IPC channel. The configuration comes in `BENCH_CHILD`
 * (JSON); the parent bundles this file (see `bundle.ts`) and forks it with
 * plain `node`, as production runs compiled JavaScript.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  monoNow,
  type Backend,
  type BenchPayload,
  type BenchPriority,
  type Handler,
  type JobSpec,
  type Producer,
  type SystemName,
  type WorkerHandle,
  type WorkerSettings,
} from './systems/types.js';
import type { ChildConfig, ChildEvent, ProducerTask, ParentCommand } from './protocol.js';

function send(ev: ChildEvent): void {
  process.send?.(ev);
}

// Each system's client libraries load only in the processes of that system.
async function producerFor(system: SystemName, backend: Backend): Promise<Producer> {
  if (system === 'rfw') return (await import('./systems/rfw.js')).rfwProducer(backend);
  if (system === 'bullmq') return (await import('./systems/bullmq.js')).bullmqProducer(backend);
  return (await import('./systems/jetstream.js')).jetstreamProducer(backend);
}

async function workerFor(
  system: SystemName,
  backend: Backend,
  handler: Handler,
  settings: WorkerSettings,
): Promise<WorkerHandle> {
  if (system === 'rfw') {
    return (await import('./systems/rfw.js')).rfwWorker(backend, handler, settings);
  }
  if (system === 'bullmq') {
    return (await import('./systems/bullmq.js')).bullmqWorker(backend, handler, settings);
  }
  return (await import('./systems/jetstream.js')).jetstreamWorker(backend, handler, settings);
}

/** Run `n` calls of `fn` with at most `concurrency` in flight. */
async function bounded(n: number, concurrency: number, fn: (i: number) => Promise<void>) {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, lane));
}

async function inChunks(
  producer: Producer,
  n: number,
  chunk: number,
  make: (i: number) => JobSpec,
): Promise<void> {
  for (let i = 0; i < n; i += chunk) {
    const jobs: JobSpec[] = [];
    for (let j = i; j < Math.min(n, i + chunk); j++) jobs.push(make(j));
    await producer.addBulk(jobs);
  }
}

const job = (priority?: BenchPriority, extra: Partial<BenchPayload> = {}): JobSpec => ({
  payload: { t: monoNow(), ...extra },
  priority,
});

/**
 * Enqueue at a fixed rate, single calls, open loop: each job is stamped with
 * the time it was due to be sent, so a producer that falls behind (a full
 * in-flight window, a starved CPU) shows in the latency instead of hiding it.
 * `lagged` counts the ticks on which the window was full.
 */
async function paced(producer: Producer, rate: number, durationMs: number, inFlightCap: number) {
  const start = monoNow();
  const total = Math.floor((rate * durationMs) / 1000);
  let sent = 0;
  let inFlight = 0;
  let lagged = 0;
  let failed: unknown;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((monoNow() - start) * rate) / 1000));
    while (sent < due) {
      if (inFlight >= inFlightCap) {
        lagged++;
        break;
      }
      const t = start + (sent * 1000) / rate;
      sent++;
      inFlight++;
      producer.add({ payload: { t } }).then(
        () => inFlight--,
        (err: unknown) => {
          inFlight--;
          failed ??= err;
        },
      );
    }
    if (failed) throw failed;
    await sleep(1);
  }
  while (inFlight > 0) await sleep(1);
  if (failed) throw failed;
  return { sent, startedAt: start, endedAt: monoNow(), lagged };
}

async function runTask(producer: Producer, task: ProducerTask): Promise<Record<string, number>> {
  const started = monoNow();
  switch (task.kind) {
    case 'single':
      await bounded(task.n, task.concurrency, () => producer.add(job(task.priority)));
      return { startedAt: started, endedAt: monoNow(), n: task.n };
    case 'bulk':
      await inChunks(producer, task.n, task.chunk, () => job(task.priority));
      return { startedAt: started, endedAt: monoNow(), n: task.n };
    case 'paced':
      return paced(producer, task.rate, task.durationMs, task.inFlightCap);
    case 'probes': {
      for (let i = 0; i < task.count; i++) {
        await producer.add(job(task.priority, { p: 1 }));
        await sleep(task.intervalMs);
      }
      return { startedAt: started, endedAt: monoNow(), n: task.count };
    }
    case 'delayed': {
      const base = Date.now() + task.leadMs;
      await inChunks(producer, task.n, task.chunk, (i) => {
        const r = Math.round(base + (task.spreadMs * i) / task.n);
        return { payload: { t: monoNow(), r }, runAt: r };
      });
      return { startedAt: started, endedAt: monoNow(), n: task.n, firstDueAt: base };
    }
    case 'flow': {
      if (!producer.flow) throw new Error('this system has no flows');
      return { ...(await producer.flow(task.n, task.timeoutMs)), n: task.n };
    }
  }
}

async function runProducer(config: Extract<ChildConfig, { role: 'producer' }>): Promise<void> {
  const producer = await producerFor(config.system, config.backend);
  let queue = Promise.resolve();
  process.on('message', (cmd: ParentCommand) => {
    if (cmd.cmd === 'exit') process.exit(0);
    if (cmd.cmd !== 'task') return;
    queue = queue.then(async () => {
      try {
        send({ ev: 'result', data: await runTask(producer, cmd.task) });
      } catch (err) {
        send({ ev: 'error', message: (err as Error).stack ?? String(err) });
      }
    });
  });
  send({ ev: 'ready' });
}

async function runWorker(config: Extract<ChildConfig, { role: 'worker' }>): Promise<void> {
  // [key, value] pairs: the enqueue time (or due time) and the latency, ms.
  const samples: number[] = [];
  let done = 0;
  let started = 0;
  let lastDoneAt = 0;
  let release: (() => void) | undefined;
  const held = new Promise<void>((r) => (release = r));
  const record = config.record;
  const handler: Handler = async (p) => {
    started++;
    if (record === 'start' || (record === 'probe' && p.p === 1)) {
      samples.push(p.t, monoNow() - p.t);
    } else if (record === 'late' && p.r !== undefined) {
      samples.push(p.r, performance.timeOrigin + performance.now() - p.r);
    }
    if (config.handler === 'sleep') await sleep(config.sleepMs ?? 50);
    else if (config.handler === 'hold') await held;
    done++;
    lastDoneAt = monoNow();
  };
  const handle = await workerFor(config.system, config.backend, handler, {
    concurrency: config.concurrency,
    flows: config.flows,
  });
  let reported = -1;
  let reportedStarted = -1;
  const timer = setInterval(() => {
    if (done === reported && started === reportedStarted) return;
    reported = done;
    reportedStarted = started;
    send({ ev: 'progress', done, started, inFlight: started - done, lastDoneAt });
  }, 25);
  process.on('message', (cmd: ParentCommand) => {
    if (cmd.cmd === 'report') {
      send({ ev: 'result', data: { done, started, lastDoneAt }, samples });
    } else if (cmd.cmd === 'release') {
      release?.();
    } else if (cmd.cmd === 'close') {
      clearInterval(timer);
      void handle.close().then(() => process.exit(0));
    } else if (cmd.cmd === 'exit') {
      process.exit(0);
    }
  });
  send({ ev: 'ready' });
}

const raw = process.env.BENCH_CHILD;
if (!raw) throw new Error('BENCH_CHILD is not set: this file is started by bench/run.ts');
const config = JSON.parse(raw) as ChildConfig;
process.on('disconnect', () => process.exit(0));
(config.role === 'producer' ? runProducer(config) : runWorker(config)).catch((err: unknown) => {
  send({ ev: 'error', message: (err as Error).stack ?? String(err) });
  setTimeout(() => process.exit(1), 100);
});
