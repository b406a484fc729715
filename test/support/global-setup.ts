/**
 * Runs once before the test files: resolves the nats-server every test starts
 * (NATS_SERVER_BIN, else NATS_SERVER_VERSION, else a 2.10+ on PATH, else the
 * cache, else a fetch of Debian's build: see @rfw/testkit `resolveNatsServer`)
 * and hands it to the test processes through NATS_SERVER_BIN, so that a fetch
 * happens once, not in every file.
 */
// A relative import: the global setup does not resolve workspace packages to their sources.
import { resolveNatsServer } from '../../libs/testkit/src/server-binary.js';

export default function setup(): void {
  const server = resolveNatsServer();
  process.env.NATS_SERVER_BIN = server.bin;
  process.stdout.write(`nats-server ${server.version} (${server.source}: ${server.bin})\n`);
}
