/**
 * @rfw/testkit: real nats-server processes for tests, and `JobFixture`, the
 * job-test fixture (server + queue + worker managers) with `waitForJobState`.
 * It runs the nats-server that `resolveNatsServer()` finds: `NATS_SERVER_BIN`,
 * `NATS_SERVER_VERSION`, a 2.10+ on `PATH`, the cache, or Debian's build fetched with apt.
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
  resolvedNatsServer,
  INSTALL_HINT,
} from './nats-server.js';
export {
  resolveNatsServer,
  fetchNatsServer,
  cachedServers,
  serverCacheDir,
  binaryVersion,
  parseVersion,
  compareVersions,
  MIN_SERVER_VERSION,
  SERVER_SUITES,
  NatsServerUnavailableError,
} from './server-binary.js';
export type { ResolvedServer, ServerSuite } from './server-binary.js';
export type { NatsServerOptions } from './nats-server.js';
export { ensureChromium, ChromiumUnavailableError } from './chromium.js';
export { freePorts } from './ports.js';
export { waitFor } from './wait-for.js';
export { spawnService } from './spawn-service.js';
export type { ServiceProcess, SpawnServiceOptions } from './spawn-service.js';
export { JobFixture, useJobFixture, waitForJobState } from './job-fixture.js';
export type { JobFixtureOptions, TestHooks } from './job-fixture.js';
