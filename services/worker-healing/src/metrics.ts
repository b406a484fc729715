/** Prometheus metrics of the healing service, registered on the worker's registry. */
import { Counter, type Registry } from 'prom-client';

export class HealingMetrics {
  /** Objects examined, by scan mode (normal, deep). */
  readonly scanned: Counter<'mode'>;
  /** Unhealthy replicas found, by node and state (missing, outdated, corrupt, unavailable). */
  readonly detected: Counter<'node' | 'state'>;
  /** Replicas with damaged data found, by node. */
  readonly bitrot: Counter<'node'>;
  /** Replicas rewritten, by node and the state they were in. */
  readonly healed: Counter<'node' | 'state'>;
  /** Repairs that failed, by node. */
  readonly failed: Counter<'node'>;
  /** Bytes written by repairs, by node. */
  readonly bytesHealed: Counter<'node'>;
  /** Objects found with no valid copy. */
  readonly dangling: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.scanned = new Counter({
      name: 'rfw_healing_objects_scanned_total',
      help: 'Objects examined by healing, by scan mode',
      labelNames: ['mode'],
      registers,
    });
    this.detected = new Counter({
      name: 'rfw_healing_problems_detected_total',
      help: 'Unhealthy replicas found, by node and state (missing, outdated, corrupt, unavailable)',
      labelNames: ['node', 'state'],
      registers,
    });
    this.bitrot = new Counter({
      name: 'rfw_healing_bitrot_detected_total',
      help: 'Replicas with damaged data (bitrot, truncation, lost data), by node',
      labelNames: ['node'],
      registers,
    });
    this.healed = new Counter({
      name: 'rfw_healing_healed_total',
      help: 'Replicas rewritten from the authoritative copy, by node and prior state',
      labelNames: ['node', 'state'],
      registers,
    });
    this.failed = new Counter({
      name: 'rfw_healing_failed_total',
      help: 'Replicas that needed repair and could not get it, by node',
      labelNames: ['node'],
      registers,
    });
    this.bytesHealed = new Counter({
      name: 'rfw_healing_bytes_healed_total',
      help: 'Bytes written by repairs, by node',
      labelNames: ['node'],
      registers,
    });
    this.dangling = new Counter({
      name: 'rfw_healing_dangling_objects_total',
      help: 'Objects found with no valid copy left',
      registers,
    });
  }
}
