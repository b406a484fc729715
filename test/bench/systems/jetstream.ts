/**
 * Raw JetStream with the same NATS client, the practical limit: one
 * work-queue stream, one durable pull consumer shared by the worker
 * processes, `js.publish` (acked) to enqueue, `consume()` plus `ack()` to work.
 * No job records, no events, no priorities, no delays.
 */
import {
  AckPolicy,
  DeliverPolicy,
  RetentionPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { Backend, Handler, JobSpec, Producer, WorkerHandle, WorkerSettings } from './types.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

const subjectOf = (b: Backend): string => `${b.prefix}.jobs`;
const consumerOf = (b: Backend): string => `${b.prefix}_worker`;

/** Publishes in flight at once on the bulk path, as `scheduleMany()` does. */
const BULK_IN_FLIGHT = 256;

/** Create the stream and the consumer (the parent does it once per run). */
export async function provisionJetStream(backend: Backend): Promise<void> {
  const nc = await connect({ servers: backend.natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({
      name: backend.prefix,
      subjects: [subjectOf(backend)],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
    });
    await jsm.consumers.add(backend.prefix, {
      durable_name: consumerOf(backend),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(30_000),
      max_ack_pending: 20_000,
    });
  } finally {
    await nc.close();
  }
}

export async function jetstreamProducer(backend: Backend): Promise<Producer> {
  const nc = await connect({ servers: backend.natsUrl });
  const js = jetstream(nc);
  const subject = subjectOf(backend);
  const publish = async (job: JobSpec): Promise<void> => {
    await js.publish(subject, enc.encode(JSON.stringify(job.payload)));
  };
  return {
    add: publish,
    async addBulk(jobs) {
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < jobs.length) await publish(jobs[next++] as JobSpec);
      };
      await Promise.all(Array.from({ length: Math.min(BULK_IN_FLIGHT, jobs.length) }, lane));
    },
    async close() {
      await nc.drain();
    },
  };
}

export async function jetstreamWorker(
  backend: Backend,
  handler: Handler,
  settings: WorkerSettings,
): Promise<WorkerHandle> {
  const nc = await connect({ servers: backend.natsUrl });
  const js = jetstream(nc);
  const consumer = await js.consumers.get(backend.prefix, consumerOf(backend));
  const messages = await consumer.consume({
    max_messages: Math.min(Math.max(settings.concurrency, 32), 1000),
  });
  let running = 0;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    for await (const m of messages) {
      while (running >= settings.concurrency) await new Promise<void>((r) => (wake = r));
      running++;
      void (async () => {
        try {
          await handler(JSON.parse(dec.decode(m.data)));
          m.ack();
        } catch {
          m.nak();
        } finally {
          running--;
          const w = wake;
          wake = undefined;
          w?.();
        }
      })();
    }
  })();
  return {
    async close() {
      messages.stop();
      await loop.catch(() => undefined);
      await nc.drain();
    },
  };
}
