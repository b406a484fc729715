import { createLogger } from '@rfw/core/internal';
import { startHealingService } from './service.js';

startHealingService().catch((err: unknown) => {
  createLogger('worker-healing').fatal({ err }, 'failed to start');
  process.exit(1);
});
