import { createLogger } from '@rfw/core/internal';
import { startMetricsService } from './service.js';
import { startTracing } from '@rfw/telemetry';

// Traces first: the SDK must be registered before the first span.
startTracing('worker-metrics')
  .then(() => startMetricsService())
  .catch((err: unknown) => {
    createLogger('worker-metrics').fatal({ err }, 'failed to start');
    process.exit(1);
  });
