import { createLogger } from '@rfw/core/internal';
import { startReplicationService } from './service.js';
import { startTracing } from '@rfw/telemetry';

// Traces first: the SDK must be registered before the first span.
startTracing('worker-replication')
  .then(() => startReplicationService())
  .catch((err: unknown) => {
    createLogger('worker-replication').fatal({ err }, 'failed to start');
    process.exit(1);
  });
