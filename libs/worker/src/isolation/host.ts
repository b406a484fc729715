/**
 * The host of an isolated handler: the entry of the worker thread or child
 * process that runs one attempt. It loads the handler module named by the
 * parent's `start` message, gives the handler a `WorkerContext` whose calls
 * become messages to the parent, and sends back its result or error. It
 * imports nothing heavy: the handler module brings what it needs.
 */
import { parentPort } from 'node:worker_threads';
import type { ChildEndings, Logger } from '@rfw/core';
import { AbortReason } from '../abort-reasons.js';
import type { ProgressUpdate, WorkerContext } from '../worker-context.js';
import {
  toWireError,
  type FromHost,
  type LogLevel,
  type ToHost,
  type WireError,
} from './protocol.js';

const port = parentPort;

function post(m: FromHost): void {
  if (port) port.postMessage(m);
  else process.send?.(m);
}

/** Send `m`; a value that cannot be cloned is sent as JSON, or as an error for a result. */
function send(m: FromHost): void {
  try {
    post(m);
  } catch (err) {
    if (m.t === 'log') {
      post({ ...m, obj: jsonSafe(m.obj) });
    } else if (m.t === 'result') {
      post({
        t: 'error',
        error: toWireError(
          new Error(`the handler's result cannot cross the isolation boundary: ${String(err)}`),
        ),
      });
    } else throw err;
  }
}

function jsonSafe(v: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(v)) as unknown;
  } catch {
    return String(v);
  }
}

function fromWire(w: WireError): Error {
  return Object.assign(new Error(w.message), { name: w.name ?? 'Error', code: w.code });
}

const LEVELS: LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/** A logger with pino's level methods and `child()`, whose lines the parent's job logger writes. */
function makeLogger(bindings: Record<string, unknown>): Logger {
  const logger: Record<string, unknown> = {
    level: 'trace',
    isLevelEnabled: () => true,
    silent: () => undefined,
    child: (more: Record<string, unknown>) => makeLogger({ ...bindings, ...more }),
  };
  for (const level of LEVELS) {
    logger[level] = (a?: unknown, b?: unknown) => {
      if (typeof a === 'string') send({ t: 'log', level, obj: bindings, msg: a });
      else {
        const fields = a instanceof Error ? { err: a } : (a as Record<string, unknown>);
        send({
          t: 'log',
          level,
          obj: { ...bindings, ...fields },
          msg: typeof b === 'string' ? b : undefined,
        });
      }
    };
  }
  return logger as unknown as Logger;
}

const abort = new AbortController();
const guards = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
let guardIds = 0;
const childReads = new Map<
  number,
  { resolve: (e: ChildEndings) => void; reject: (e: Error) => void }
>();

function context(start: Extract<ToHost, { t: 'start' }>): WorkerContext {
  return {
    job: start.job,
    jobId: start.job.id,
    attempt: start.attempt,
    workerId: start.workerId,
    signal: abort.signal,
    logger: makeLogger({}),
    updateMetrics: (name: string, value: number) => send({ t: 'metric', name, value }),
    setGauge: (name: string, value: number) => send({ t: 'gauge', name, value }),
    progress: (update: ProgressUpdate) => send({ t: 'progress', update }),
    heartbeat: () => send({ t: 'heartbeat' }),
    children(): Promise<ChildEndings> {
      const id = ++guardIds;
      send({ t: 'children', id });
      return new Promise((resolve, reject) => childReads.set(id, { resolve, reject }));
    },
    async guard<T>(key: string, fn: () => Promise<T>): Promise<T> {
      const id = ++guardIds;
      const allowed = new Promise<void>((resolve, reject) => guards.set(id, { resolve, reject }));
      send({ t: 'guard-start', id, key });
      await allowed;
      try {
        const v = await fn();
        send({ t: 'guard-end', id, ok: true });
        return v;
      } catch (err) {
        send({ t: 'guard-end', id, ok: false, error: toWireError(err) });
        throw err;
      }
    },
  };
}

type Handler = (job: unknown, ctx: WorkerContext) => unknown;

async function run(start: Extract<ToHost, { t: 'start' }>): Promise<void> {
  let handler: Handler;
  try {
    const mod = (await import(start.module)) as { default?: unknown; processJob?: unknown };
    const fn = typeof mod.default === 'function' ? mod.default : mod.processJob;
    if (typeof fn !== 'function') throw new Error('it exports no default or processJob function');
    handler = fn as Handler;
  } catch (err) {
    // Not the job's fault, but no retry would load it either.
    const e = new Error(`cannot load the isolated handler module ${start.module}: ${String(err)}`);
    e.name = 'NonRetryableError';
    send({ t: 'error', error: toWireError(e) });
    return;
  }
  try {
    send({ t: 'result', value: await handler(start.job, context(start)) });
  } catch (err) {
    send({ t: 'error', error: toWireError(err) });
  }
}

function onMessage(m: ToHost): void {
  switch (m.t) {
    case 'start':
      void run(m);
      return;
    case 'abort':
      abort.abort(new AbortReason(m.kind, m.message));
      return;
    case 'guard': {
      const g = guards.get(m.id);
      guards.delete(m.id);
      if (m.ok) g?.resolve();
      else g?.reject(fromWire(m.error));
      return;
    }
    case 'children': {
      const r = childReads.get(m.id);
      childReads.delete(m.id);
      if (m.ok) r?.resolve(m.endings);
      else r?.reject(fromWire(m.error));
    }
  }
}

// An error outside the handler's promise ends this attempt, not the worker.
const crash = (err: unknown): void => {
  try {
    post({ t: 'crash', error: toWireError(err) });
  } finally {
    process.exit(70);
  }
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);

if (port) port.on('message', onMessage);
else {
  process.on('message', (m) => onMessage(m as ToHost));
  // The worker is gone: nothing would take the result.
  process.on('disconnect', () => process.exit(0));
}
