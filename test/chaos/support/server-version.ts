/**
 * Which known nats-server faults the server under test has, by version, so a
 * scenario can assert an invariant fully on a fixed server and report (not
 * assert) the counts a server bug explains on an affected one.
 */
import { natsServerVersion as version } from '@rfw/testkit';

/** The clustered KV compare-and-set bug (nats-server #4320, fixed in 2.9.20's successor): < 2.9.20. */
export function serverHasClusteredCasBug(): boolean {
  const v = version();
  if (!v) return false;
  const [maj, min, pat] = v;
  return maj === 2 && (min < 9 || (min === 9 && pat < 20));
}

/**
 * Acknowledged writes (acks of work-queue messages, KV updates) missing after
 * the server is SIGKILLed (F10 in docs/reliability.md). Seen on 2.9.10; not
 * checked on newer 2.9 releases, so every 2.9 and older counts as affected.
 */
export function serverLosesAckedWritesOnKill(): boolean {
  const v = version();
  if (!v) return false;
  const [maj, min] = v;
  return maj < 2 || (maj === 2 && min < 10);
}
