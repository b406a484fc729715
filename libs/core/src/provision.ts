/**
 * Idempotent creation of the streams and KV buckets of one installation.
 * nats-server keeps an existing stream's config when `add` is called again with
 * another one (and `Kvm.create` returns the old bucket unchanged), so every
 * resource is compared field by field: a drift is updated in place when the
 * server allows it, or raised as a `ProvisioningDriftError` naming the field.
 */
import { TimeoutError, nanos, type NatsConnection } from '@nats-io/nats-core';
import {
  DiscardPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  jetstreamManager,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { ProvisioningDriftError } from './errors.js';
import { JsCode } from './nats-errors.js';
import { V1_ID_TOKEN, type Names } from './names.js';
import { PRIORITIES } from './job.js';

/** Settings of the streams and buckets, applied idempotently on connect. */
export interface ProvisionOptions {
  /** Stream and bucket replicas (3 in a cluster). @default 1 */
  replicas?: number;
  /** Dedupe window for `Nats-Msg-Id`, ms. @default 120000 */
  duplicateWindowMs?: number;
  /** Maximum jobs waiting in the jobs stream; further publishes are refused (backpressure). @default -1 (unlimited) */
  maxQueuedJobs?: number;
  /** How long live events are kept in the events stream (history, statistics), ms. @default 7 days */
  eventsMaxAgeMs?: number;
  /** How long dead letters are kept, ms; 0 keeps them until purged. @default 0 */
  dlqMaxAgeMs?: number;
  /**
   * What to do when an existing resource differs: update it, throw, or leave
   * it as it is (`ignore`: for admin clients such as the CLI, which create
   * what is missing but must not rewrite an installation's settings).
   * @default 'update'
   */
  onDrift?: DriftPolicy;
}

/** See `ProvisionOptions.onDrift`. */
export type DriftPolicy = 'update' | 'error' | 'ignore';

type Wanted = Partial<StreamConfig> & { name: string };

/** Fields that nats-server cannot change on an existing stream. */
const IMMUTABLE: ReadonlySet<string> = new Set(['retention', 'storage']);

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * How long provisioning retries a request that the server did not answer or
 * answered with "JetStream temporarily unavailable" (a cluster electing its
 * meta or stream leader, a node restarting), ms.
 */
export const PROVISION_RETRY_MS = 30_000;

/** How long a flow's child endings are kept: a parent may wait this long. */
export const FLOWS_MAX_AGE_MS = 30 * 24 * 3600_000;
/** How long a child's ending is deduplicated by `<parent>.<child>`. */
export const FLOWS_DUPLICATE_WINDOW_MS = 3600_000;

function isTransient(err: unknown): boolean {
  return (
    err instanceof TimeoutError ||
    (err instanceof JetStreamApiError && err.code === JsCode.ClusterUnavailable)
  );
}

/**
 * Run an idempotent provisioning step again while it fails for a transient
 * reason, for up to `PROVISION_RETRY_MS`, then rethrow the last error. A
 * service started beside a cluster that is still electing its leaders waits
 * for it instead of exiting; a refusal (drift, permissions) throws at once.
 */
async function retryTransient<T>(step: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + PROVISION_RETRY_MS;
  for (let pause = 250; ; pause = Math.min(pause * 2, 2_000)) {
    try {
      return await step();
    } catch (err) {
      if (!isTransient(err) || Date.now() + pause > deadline) throw err;
      await new Promise((r) => setTimeout(r, pause));
    }
  }
}

/** `jetstreamManager(nc)`, whose account-info check is retried like a provisioning step. */
export function openJetStreamManager(nc: NatsConnection): Promise<JetStreamManager> {
  return retryTransient(() => jetstreamManager(nc));
}

/**
 * Create a stream, or bring an existing one to the wanted config. Retries
 * while the server does not answer or JetStream is momentarily unavailable
 * (see `PROVISION_RETRY_MS`).
 */
export async function ensureStream(
  jsm: JetStreamManager,
  wanted: Wanted,
  onDrift: DriftPolicy = 'update',
  /** Settings used only when creating the stream: an existing stream keeps its own. */
  defaults: Partial<StreamConfig> = {},
): Promise<void> {
  return retryTransient(() => ensureStreamOnce(jsm, wanted, onDrift, defaults));
}

async function ensureStreamOnce(
  jsm: JetStreamManager,
  wanted: Wanted,
  onDrift: DriftPolicy,
  defaults: Partial<StreamConfig>,
): Promise<void> {
  let current: StreamConfig;
  try {
    current = (await jsm.streams.info(wanted.name)).config;
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === 10059) {
      try {
        await jsm.streams.add({ ...defaults, ...wanted });
        return;
      } catch (addErr) {
        // Lost a race with another process creating it: fall through to compare.
        if (!(addErr instanceof JetStreamApiError) || addErr.code !== 10058) throw addErr;
        current = (await jsm.streams.info(wanted.name)).config;
      }
    } else {
      throw err;
    }
  }
  if (onDrift === 'ignore') return;
  const drift: string[] = [];
  for (const [field, value] of Object.entries(wanted)) {
    if (field === 'name') continue;
    const actual = (current as unknown as Record<string, unknown>)[field];
    if (field === 'subjects') {
      const want = [...((value as string[]) ?? [])].sort();
      const have = [...((actual as string[]) ?? [])].sort();
      if (!sameValue(want, have)) drift.push(field);
    } else if (!sameValue(value, actual)) {
      drift.push(field);
    }
  }
  if (drift.length === 0) return;
  const field = drift[0] as string;
  const immutable = drift.find((f) => IMMUTABLE.has(f));
  if (onDrift === 'error' || immutable) {
    const f = immutable ?? field;
    throw new ProvisioningDriftError(
      `stream ${wanted.name}`,
      f,
      (wanted as Record<string, unknown>)[f],
      (current as unknown as Record<string, unknown>)[f],
    );
  }
  await jsm.streams.update(wanted.name, { ...current, ...wanted });
}

/**
 * Create or open a KV bucket and check the settings we rely on (history, TTL),
 * updating its stream when they drifted.
 */
export async function ensureBucket(
  nc: NatsConnection,
  jsm: JetStreamManager,
  name: string,
  opts: { history?: number; ttlMs?: number; replicas?: number },
  onDrift: DriftPolicy = 'update',
): Promise<KV> {
  const kvm = new Kvm(nc);
  const kv = await retryTransient(() =>
    kvm.create(name, {
      history: opts.history ?? 1,
      ttl: opts.ttlMs ?? 0,
      replicas: opts.replicas ?? 1,
    }),
  );
  const streamName = `KV_${name}`;
  await ensureStream(
    jsm,
    {
      name: streamName,
      max_msgs_per_subject: opts.history ?? 1,
      max_age: nanos(opts.ttlMs ?? 0),
      num_replicas: opts.replicas ?? 1,
    },
    onDrift,
  );
  return kv;
}

/** The JetStream resources of the job system proper (jobs, delayed, DLQ, events, records). */
export async function provisionCore(
  nc: NatsConnection,
  names: Names,
  options: ProvisionOptions = {},
): Promise<{ jobs: KV; control: KV }> {
  const jsm = await openJetStreamManager(nc);
  const replicas = options.replicas ?? 1;
  const onDrift = options.onDrift ?? 'update';
  const common = {
    storage: StorageType.File,
    num_replicas: replicas,
    allow_direct: true,
  } as const;
  // Limits a caller did not ask for are creation defaults only: a worker
  // starting with default options must not undo a producer's `maxQueuedJobs`.
  const split = <T>(value: T | undefined, fallback: T): { wanted?: T; fallback: T } =>
    value === undefined ? { fallback } : { wanted: value, fallback };
  const dupWindow = split(options.duplicateWindowMs, 120_000);
  const maxQueued = split(options.maxQueuedJobs, -1);
  const eventsAge = split(options.eventsMaxAgeMs, 7 * 24 * 3600_000);
  const dlqAge = split(options.dlqMaxAgeMs, 0);
  const dupWanted =
    dupWindow.wanted === undefined ? {} : { duplicate_window: nanos(dupWindow.wanted) };
  const dupDefault = { duplicate_window: nanos(dupWindow.fallback) };
  // Only the four priorities are captured: a publish to any other subject is
  // refused at once (no responders) instead of sitting in the stream forever.
  const prioritySubjects = (kind: 'jobs' | 'delayed'): string[] =>
    PRIORITIES.map((p) =>
      kind === 'jobs' ? names.jobSubject('*', p) : names.delayedSubject('*', p),
    );
  await ensureStream(
    jsm,
    {
      name: names.jobsStream,
      // v1 subjects (`.jobs.<type>.<priority>`) and v2 per-job subjects
      // (`.jobs.<type>.<priority>.<id>`); a v1 message is stored with a `_`
      // id token, so one filter per type and priority sees both.
      subjects: [...prioritySubjects('jobs'), ...PRIORITIES.map((p) => names.jobFilter('*', p))],
      subject_transform: {
        src: names.jobSubject('*', '*'),
        dest: `${names.jobSubject('{{wildcard(1)}}', '{{wildcard(2)}}' as never)}.${V1_ID_TOKEN}`,
      },
      retention: RetentionPolicy.Workqueue,
      discard: DiscardPolicy.New,
      ...(maxQueued.wanted === undefined ? {} : { max_msgs: maxQueued.wanted }),
      ...dupWanted,
      ...common,
    },
    onDrift,
    { max_msgs: maxQueued.fallback, ...dupDefault },
  );
  await ensureStream(
    jsm,
    {
      name: names.delayedStream,
      subjects: prioritySubjects('delayed'),
      retention: RetentionPolicy.Limits,
      ...dupWanted,
      ...common,
    },
    onDrift,
    dupDefault,
  );
  await ensureStream(
    jsm,
    {
      name: names.dlqStream,
      subjects: [names.dlqWildcard],
      retention: RetentionPolicy.Limits,
      ...(dlqAge.wanted === undefined ? {} : { max_age: nanos(dlqAge.wanted) }),
      ...dupWanted,
      ...common,
    },
    onDrift,
    { max_age: nanos(dlqAge.fallback), ...dupDefault },
  );
  await ensureStream(
    jsm,
    {
      name: names.eventsStream,
      subjects: [names.eventsWildcard],
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      ...(eventsAge.wanted === undefined ? {} : { max_age: nanos(eventsAge.wanted) }),
      ...common,
    },
    onDrift,
    { max_age: nanos(eventsAge.fallback) },
  );
  // Flows: a child's ending is deduplicated by `<parent>.<child>` for an hour
  // (a replay after a crash comes within the ack wait); a parent is released
  // only after a count of distinct children (see flow-state.ts).
  await ensureStream(
    jsm,
    {
      name: names.flowsStream,
      subjects: [names.flowsWildcard],
      retention: RetentionPolicy.Limits,
      ...common,
    },
    onDrift,
    { max_age: nanos(FLOWS_MAX_AGE_MS), duplicate_window: nanos(FLOWS_DUPLICATE_WINDOW_MS) },
  );
  const jobs = await ensureBucket(nc, jsm, names.jobsBucket, { history: 1, replicas }, onDrift);
  const control = await ensureBucket(
    nc,
    jsm,
    names.controlBucket,
    { history: 1, replicas },
    onDrift,
  );
  return { jobs, control };
}
