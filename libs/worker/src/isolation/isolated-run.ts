/**
 * The parent side of one isolated attempt: start a worker thread or child
 * process on the host (`host.ts`), hand it the job, serve its context calls
 * (progress, log, metrics, heartbeat, guard) with the attempt's own
 * `WorkerContext`, forward the abort, and end it.
 *
 * One thread or process per attempt, not a pool: measured on the 2-core
 * development machine, a thread starts in about 35 ms and a process in about
 * 90 ms (from compiled JavaScript; 150-250 ms when tsx compiles the host from
 * source), small beside the jobs worth isolating, and an attempt never meets
 * state a previous one left behind. `result` settles only once the thread or
 * process has exited, so the type's concurrency bounds how many are alive.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker as Thread } from 'node:worker_threads';
import type { AbortReason } from '../abort-reasons.js';
import type { WorkerContext } from '../worker-context.js';
import { DeferError, JobResult, NonRetryableError, RetryAfterError } from '../worker.js';
import type { CompiledIsolation } from './options.js';
import { toWireError, type FromHost, type ToHost, type WireError } from './protocol.js';

/** Rebuild an error sent by the host: the kinds that steer a job get their class back. */
export function fromWireError(w: WireError): unknown {
  if (w.text !== undefined) return w.text;
  let e: Error;
  switch (w.name) {
    case 'NonRetryableError':
      e = new NonRetryableError(w.message);
      break;
    case 'RetryAfterError':
      e = new RetryAfterError(w.delayMs ?? 1000, w.message);
      break;
    case 'DeferError':
      e = new DeferError(w.delayMs ?? 1000, w.reason ?? w.message);
      break;
    default:
      e = new Error(w.message);
      if (w.name) e.name = w.name;
  }
  if (w.code !== undefined) Object.assign(e, { code: w.code });
  if (w.stack) e.stack = w.stack;
  return e;
}

const JOB_RESULT_STATUS = new Set(['success', 'failed', 'skipped']);

/** A returned `JobResult` steers the outcome; any other value is the job's result. */
function asJobResult(v: unknown): JobResult {
  const s = (v as { status?: unknown } | null | undefined)?.status;
  if (typeof s === 'string' && JOB_RESULT_STATUS.has(s)) return v as JobResult;
  return JobResult.success(v);
}

// Running from TypeScript source (tests, `--import tsx`): the host is host.ts,
// and a thread or process needs tsx to load it.
const HERE = import.meta.url;
const FROM_SOURCE = HERE.endsWith('.ts');
const HOST = new URL(FROM_SOURCE ? './host.ts' : './host.js', HERE);

function resolveTsx(specifier: string): string {
  try {
    return import.meta.resolve(specifier);
  } catch {
    return pathToFileURL(createRequire(HERE).resolve(specifier)).href;
  }
}

/**
 * A thread's entry when running from source: `--import tsx` in a worker's
 * execArgv does not apply tsx's hooks to the thread on Node 20, so a tiny
 * module registers them in the thread and then loads the host.
 */
function sourceThreadEntry(): URL {
  const code =
    `const { register } = await import(${JSON.stringify(resolveTsx('tsx/esm/api'))});\n` +
    `register();\nawait import(${JSON.stringify(HOST.href)});\n`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** A thread's uncaught error, as its `error` event gave it. */
  error?: unknown;
}

/** A thread or process running the host. */
interface Endpoint {
  readonly noun: 'thread' | 'process';
  send(m: ToHost): void;
  /** End it now (terminate / SIGKILL). */
  end(): void;
  readonly exited: Promise<Exit>;
}

function startThread(iso: CompiledIsolation, onMessage: (m: FromHost) => void): Endpoint {
  const execArgv = FROM_SOURCE ? ['--conditions=source', ...(iso.execArgv ?? [])] : iso.execArgv;
  const t = new Thread(FROM_SOURCE ? sourceThreadEntry() : HOST, execArgv ? { execArgv } : {});
  let error: unknown;
  t.on('message', onMessage);
  t.on('error', (err) => {
    error = err;
  });
  const exited = new Promise<Exit>((resolve) =>
    t.once('exit', (code) => resolve({ code, signal: null, error })),
  );
  return {
    noun: 'thread',
    send: (m) => t.postMessage(m),
    end: () => void t.terminate(),
    exited,
  };
}

function startProcess(iso: CompiledIsolation, onMessage: (m: FromHost) => void): Endpoint {
  const execArgv = FROM_SOURCE
    ? ['--conditions=source', '--import', resolveTsx('tsx'), ...(iso.execArgv ?? [])]
    : (iso.execArgv ?? process.execArgv);
  const c: ChildProcess = fork(fileURLToPath(HOST), [], { execArgv, serialization: 'advanced' });
  let error: unknown;
  c.on('message', (m) => onMessage(m as FromHost));
  const exited = new Promise<Exit>((resolve) => {
    c.once('error', (err) => {
      // Could not be started (or signalled); an `exit` may not follow.
      error = err;
      if (c.exitCode === null && c.signalCode === null && c.pid === undefined)
        resolve({ code: null, signal: null, error });
    });
    c.once('exit', (code, signal) => resolve({ code, signal, error }));
  });
  return {
    noun: 'process',
    send: (m) => {
      if (c.connected) c.send(m);
    },
    end: () => {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    },
    exited,
  };
}

function exitText(noun: string, exit: Exit): string {
  if (exit.error !== undefined) {
    const e = exit.error;
    return `handler ${noun} crashed: ${e instanceof Error ? e.message : String(e)}`;
  }
  if (exit.signal) return `handler ${noun} was killed by ${exit.signal}`;
  return `handler ${noun} exited with code ${String(exit.code)}`;
}

/** One isolated attempt, started by `startIsolated`. */
export interface IsolatedRun {
  /** Where it runs. */
  readonly mode: 'thread' | 'process';
  /**
   * The handler's `JobResult`, or its error rebuilt; settles once the thread
   * or process has exited. A thread or process that ends without a result
   * (crash, `process.exit`, killed) rejects with an error saying how.
   */
  readonly result: Promise<JobResult>;
  /** Fire the handler's `ctx.signal` with `reason`. */
  abort(reason: AbortReason): void;
  /** End the thread or process now; resolves once it has exited. */
  kill(): Promise<void>;
}

/** Run one attempt of `ctx.job` in a new thread or process. */
export function startIsolated(iso: CompiledIsolation, ctx: WorkerContext): IsolatedRun {
  let settled: { value: JobResult } | { error: unknown } | undefined;
  let crash: WireError | undefined;
  let killed = false;
  // Breaker calls the host runs, by id: settled by its `guard-end`.
  const guards = new Map<number, { resolve: () => void; reject: (e: unknown) => void }>();

  const onMessage = (m: FromHost): void => {
    switch (m.t) {
      case 'result':
        settled ??= { value: asJobResult(m.value) };
        ep.end();
        return;
      case 'error':
        settled ??= { error: fromWireError(m.error) };
        ep.end();
        return;
      case 'crash':
        crash = m.error;
        return;
      case 'progress':
        ctx.progress(m.update);
        return;
      case 'log': {
        const log = ctx.logger as unknown as Record<string, (o: unknown, msg?: string) => void>;
        log[m.level]?.call(ctx.logger, m.obj, m.msg);
        return;
      }
      case 'metric':
        ctx.updateMetrics(m.name, m.value);
        return;
      case 'gauge':
        ctx.setGauge(m.name, m.value);
        return;
      case 'heartbeat':
        ctx.heartbeat();
        return;
      case 'guard-start': {
        let allowed = false;
        ctx
          .guard(
            m.key,
            () =>
              new Promise<void>((resolve, reject) => {
                allowed = true;
                guards.set(m.id, { resolve, reject });
                ep.send({ t: 'guard', id: m.id, ok: true });
              }),
          )
          .catch((err: unknown) => {
            // Refused by an open breaker: the host throws this error in the handler.
            if (!allowed) ep.send({ t: 'guard', id: m.id, ok: false, error: toWireError(err) });
          });
        return;
      }
      case 'children':
        ctx.children().then(
          (endings) => ep.send({ t: 'children', id: m.id, ok: true, endings }),
          (err: unknown) =>
            ep.send({ t: 'children', id: m.id, ok: false, error: toWireError(err) }),
        );
        return;
      case 'guard-end': {
        const g = guards.get(m.id);
        guards.delete(m.id);
        if (m.ok) g?.resolve();
        else g?.reject(m.error ? fromWireError(m.error) : new Error('guarded call failed'));
      }
    }
  };

  const ep: Endpoint =
    iso.mode === 'thread' ? startThread(iso, onMessage) : startProcess(iso, onMessage);
  ep.send({
    t: 'start',
    module: iso.module,
    job: ctx.job,
    attempt: ctx.attempt,
    workerId: ctx.workerId,
  });

  const result = ep.exited.then((exit) => {
    const gone = new Error(
      killed ? `handler ${ep.noun} ended by the worker` : exitText(ep.noun, exit),
    );
    for (const g of guards.values()) g.reject(gone);
    guards.clear();
    if (settled && 'value' in settled) return settled.value;
    if (settled) throw settled.error;
    if (crash && !killed) {
      const e = fromWireError(crash);
      throw new Error(`handler ${ep.noun} crashed: ${e instanceof Error ? e.message : String(e)}`);
    }
    throw gone;
  });
  // The runner may stop listening (a value after its grace); never unhandled.
  result.catch(() => undefined);

  return {
    mode: iso.mode,
    result,
    abort(reason) {
      ep.send({ t: 'abort', kind: reason.kind, message: reason.message });
    },
    async kill() {
      killed = true;
      ep.end();
      await ep.exited;
    },
  };
}
