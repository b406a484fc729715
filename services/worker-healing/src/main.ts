import { createLogger } from '@rfw/core/internal';
import { startHealingService } from './service.js';
import { startTracing } from '@rfw/telemetry';

// Traces first: the SDK must be registered before the first span.
startTracing('worker-healing')
  .then(() => startHealingService())
  .catch((err: unknown) => {
    createLogger('worker-healing').fatal({ err }, 'failed to start');
    process.exit(1);
  });
