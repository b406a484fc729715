/**
 * Entry of `npm start` (loaded by scripts/start.mjs). Exit codes: 0 after a
 * requested stop (Ctrl-C, SIGTERM), 1 when the system could not start (the
 * reason is printed, with how to fix it), 130 after a second Ctrl-C.
 */
import { ConfigError, RfwError } from '@rfw/core';
import { loadConfig } from './config.js';
import { LogSink } from './log-sink.js';
import { Supervisor } from './supervisor.js';

function fail(message: string): number {
  process.stderr.write(`\nnpm start: ${message}\n\n`);
  return 1;
}

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return fail(err.message);
    throw err;
  }
  const sink = new LogSink({ format: config.logFormat, level: env.LOG_LEVEL });
  const sup = new Supervisor(config, sink);
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      sup.log.info(`${sig} received`);
      void sup.stop();
    } else {
      sup.log.warn(`${sig} again: killing every process now`);
      sup.kill();
      process.exit(130);
    }
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);
  try {
    await sup.start();
  } catch (err) {
    // Take down whatever did start before reporting.
    await sup.stop();
    if (err instanceof RfwError) return fail(err.message);
    return fail(`${(err as Error).stack ?? String(err)}`);
  }
  await sup.stopped();
  return 0;
}
