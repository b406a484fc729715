/**
 * The worker service: configuration from the environment (NATS_URL,
 * RFW_PREFIX, MAX_CONCURRENT_JOBS, HTTP_PORT, ...), `/healthz`, `/readyz` and
 * `/metrics`, and a graceful drain on SIGTERM.
 */
import { runWorkerService } from '@rfw/worker';
import { thumbnailWorker } from './thumbnail.js';

await runWorkerService({ service: 'worker-thumbnail', workers: [thumbnailWorker] });
