/**
 * The monitor service: `node services/monitor/dist/main.js` (or, in
 * development, `node --conditions=source --import tsx services/monitor/src/main.ts`).
 * Configuration comes from the environment; see `docs/monitor.md`.
 */
import { createLogger } from '@rfw/core/internal';
import { runMonitorService } from './service.js';
import { startTracing } from '@rfw/telemetry';

const log = createLogger('monitor');
try {
  await startTracing('monitor');
  await runMonitorService({ log });
} catch (err) {
  log.fatal({ err }, 'monitor failed to start');
  // Let pino flush before exiting.
  setTimeout(() => process.exit(1), 50);
}
