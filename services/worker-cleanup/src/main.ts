import { createLogger } from '@rfw/core/internal';
import { startCleanupService } from './service.js';
import { startTracing } from '@rfw/telemetry';

// Traces first: the SDK must be registered before the first span.
startTracing('worker-cleanup')
  .then(() => startCleanupService())
  .catch((err: unknown) => {
    createLogger('worker-cleanup').fatal({ err }, 'failed to start');
    process.exit(1);
  });
