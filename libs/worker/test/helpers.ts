import { afterAll, afterEach, beforeAll } from 'vitest';
import { useJobFixture, waitForJobState } from '@rfw/testkit';

/** One nats-server per test file; each test gets its own prefix, queues and managers. */
export function useHarness() {
  return useJobFixture({ beforeAll, afterEach, afterAll });
}

export { waitForJobState as waitForState };
