/**
 * @rfw/testkit: real nats-server processes for tests, and `JobFixture`, the
 * job-test fixture (server + queue + worker managers) with `waitForJobState`.
 * It looks for nats-server in `NATS_SERVER_BIN`, then on `PATH`.
 *
 * @example
 * ```ts
 * const server = await NatsServer.start();
 * const nc = await connect({ servers: server.url });
 * await server.kill();      // SIGKILL
 * await server.restart();   // same port, same store
 * await server.stop();      // and remove its directory
 * ```
 */
export {
  NatsServer,
  NatsCluster,
  cleanupAll,
  findNatsServer,
  natsServerVersion,
  INSTALL_HINT,
} from './nats-server.js';
export type { NatsServerOptions } from './nats-server.js';
export { freePorts } from './ports.js';
export { waitFor } from './wait-for.js';
export { spawnService } from './spawn-service.js';
export type { ServiceProcess, SpawnServiceOptions } from './spawn-service.js';
export { JobFixture, useJobFixture, waitForJobState } from './job-fixture.js';
export type { JobFixtureOptions, TestHooks } from './job-fixture.js';
