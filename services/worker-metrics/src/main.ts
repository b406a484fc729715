import { createLogger } from '@rfw/core/internal';
import { startMetricsService } from './service.js';

startMetricsService().catch((err: unknown) => {
  createLogger('worker-metrics').fatal({ err }, 'failed to start');
  process.exit(1);
});
