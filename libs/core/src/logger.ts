import { pino, type Logger, type LoggerOptions } from 'pino';

/**
 * The project's pino logger. Level from `LOG_LEVEL` (default `info`; `silent`
 * in tests unless set). Each service names itself in `service`.
 */
export function createLogger(service: string, options: LoggerOptions = {}): Logger {
  const level = process.env.LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info');
  return pino({ level, base: { service, pid: process.pid }, ...options });
}

export type { Logger };
