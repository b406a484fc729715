/**
 * Everything a component needs to talk to one installation: the connection,
 * the JetStream clients, the names and the record store.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { Names } from './names.js';
import { openJetStreamManager, provisionCore, type ProvisionOptions } from './provision.js';
import { RecordStore } from './records.js';
import { encodeJson, type JobEvent } from './wire.js';

export interface CoreContext {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: Names;
  records: RecordStore;
  control: KV;
}

export async function openContext(
  nc: NatsConnection,
  prefix = 'rfw',
  provision: ProvisionOptions = {},
): Promise<CoreContext> {
  const names = new Names(prefix);
  const { jobs, control } = await provisionCore(nc, names, provision);
  return {
    nc,
    js: jetstream(nc),
    jsm: await openJetStreamManager(nc),
    names,
    records: new RecordStore(jobs),
    control,
  };
}

/**
 * Publish a live event on core NATS (the events stream keeps a copy). Fire
 * and forget: the job record, not the event, is the source of truth.
 */
export function publishEvent(ctx: Pick<CoreContext, 'nc' | 'names'>, ev: JobEvent): void {
  if (ctx.nc.isClosed()) return;
  try {
    ctx.nc.publish(ctx.names.eventSubject(ev.type, ev.priority as never, ev.state), encodeJson(ev));
  } catch {
    // A closed or draining connection: the record already holds the state.
  }
}
