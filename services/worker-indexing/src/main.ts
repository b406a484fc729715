import { createLogger } from '@rfw/core/internal';
import { startIndexingService } from './service.js';

startIndexingService().catch((err: unknown) => {
  createLogger('worker-indexing').fatal({ err }, 'failed to start');
  process.exit(1);
});
