/** What the bench parent and its child processes say to each other over IPC. */
import type { Backend, BenchPriority, SystemName } from './systems/types.js';

export type ChildConfig =
  | { role: 'producer'; system: SystemName; backend: Backend }
  | {
      role: 'worker';
      system: SystemName;
      backend: Backend;
      concurrency: number;
      handler: 'noop' | 'sleep' | 'hold';
      sleepMs?: number;
      /** What latency to sample: every job's start, probe jobs only, lateness, or nothing. */
      record: 'none' | 'start' | 'probe' | 'late';
      /** Also run flow parents (see `WorkerSettings.flows`). */
      flows?: boolean;
    };

export type ProducerTask =
  | { kind: 'single'; n: number; concurrency: number; priority?: BenchPriority }
  | { kind: 'bulk'; n: number; chunk: number; priority?: BenchPriority }
  | { kind: 'paced'; rate: number; durationMs: number; inFlightCap: number }
  | { kind: 'probes'; count: number; intervalMs: number; priority: BenchPriority }
  | { kind: 'delayed'; n: number; chunk: number; leadMs: number; spreadMs: number }
  | { kind: 'flow'; n: number; timeoutMs: number };

export type ParentCommand =
  | { cmd: 'task'; task: ProducerTask }
  | { cmd: 'report' }
  | { cmd: 'release' }
  | { cmd: 'close' }
  | { cmd: 'exit' };

export type ChildEvent =
  | { ev: 'ready' }
  | { ev: 'progress'; done: number; started: number; inFlight: number; lastDoneAt: number }
  | { ev: 'result'; data: Record<string, number>; samples?: number[] }
  | { ev: 'error'; message: string };
