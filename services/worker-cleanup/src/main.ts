import { createLogger } from '@rfw/core/internal';
import { startCleanupService } from './service.js';

startCleanupService().catch((err: unknown) => {
  createLogger('worker-cleanup').fatal({ err }, 'failed to start');
  process.exit(1);
});
