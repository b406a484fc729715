import { createLogger } from '@rfw/core/internal';
import { startReplicationService } from './service.js';

startReplicationService().catch((err: unknown) => {
  createLogger('worker-replication').fatal({ err }, 'failed to start');
  process.exit(1);
});
