import { createLogger } from '@rfw/core/internal';
import { startIndexingService } from './service.js';
import { startTracing } from '@rfw/telemetry';

// Traces first: the SDK must be registered before the first span.
startTracing('worker-indexing')
  .then(() => startIndexingService())
  .catch((err: unknown) => {
    createLogger('worker-indexing').fatal({ err }, 'failed to start');
    process.exit(1);
  });
