/**
 * Least-privilege NATS users for one installation, derived from the names in
 * `@rfw/core` (so a renamed subject changes the permissions with it). Each
 * service gets exactly the JetStream API calls, KV buckets and core subjects
 * its code uses; a worker can pull and ack only its own types' consumers
 * (each pinned to its filter subject), dead-letter and publish events only
 * for its own types, and schedule only the follow-up job types it is known
 * to produce. `renderAccountsConf()` writes them as a nats-server include
 * file (deploy/nats/accounts.conf is its output for prefix `rfw`).
 */
import { Names, PRIORITIES } from '@rfw/core';

export interface Permissions {
  publish: string[];
  subscribe: string[];
  /** May reply to requests it received (request/reply APIs). */
  allowResponses: boolean;
}

/** What one user does, in the job system's terms. */
export interface RoleSpec {
  /** NATS user name. */
  user: string;
  /** Job types whose durable consumers it pulls from. */
  consumes: string[];
  /** Job types it schedules (JobQueue.schedule): `'*'` for any. */
  produces: string[] | '*';
  /** Request/reply APIs it serves (`<prefix>.api.<name>`). */
  serves: string[];
  /** Reads and admin calls of the monitor / CLI: listing, statistics, DLQ, pause, cancel. */
  admin: boolean;
  /** Releases delayed jobs and fires cron: consumes the delayed stream, holds leases. */
  scheduler: boolean;
  /** Extra KV buckets it reads and writes, by their `Names` getter. */
  buckets: Array<'storageMetricsBucket'>;
  /** Who it is, for the config's comments. */
  about: string;
}

function role(user: string, about: string, r: Partial<RoleSpec>): RoleSpec {
  return {
    user,
    about,
    consumes: [],
    produces: [],
    serves: [],
    admin: false,
    scheduler: false,
    buckets: [],
    ...r,
  };
}

/** The users of an installation: one per service, plus a client (producers) and an admin. */
export const ROLES: readonly RoleSpec[] = [
  role('worker-replication', 'services/worker-replication', {
    consumes: ['replication', 'replication-resync'],
    // resync fans out replication jobs; a written object is announced to the indexer.
    produces: ['replication', 'indexing'],
  }),
  role('worker-healing', 'services/worker-healing', {
    consumes: ['healing'],
    produces: ['replication', 'indexing'],
  }),
  role('worker-cleanup', 'services/worker-cleanup', {
    consumes: ['cleanup'],
    produces: ['indexing'],
  }),
  role('worker-indexing', 'services/worker-indexing (its index lives in SQLite or PostgreSQL)', {
    consumes: ['indexing'],
    serves: ['search', 'usage'],
  }),
  role('worker-metrics', 'services/worker-metrics', {
    consumes: ['metrics'],
    // The latest storage readings, for the monitor's storage view.
    buckets: ['storageMetricsBucket'],
  }),
  role('scheduler', 'services/scheduler', { produces: '*', scheduler: true, serves: ['submit'] }),
  role('monitor', 'services/monitor (admin API and dashboard)', { produces: '*', admin: true }),
  role('client', 'applications that schedule and query jobs with JobQueue', {
    produces: '*',
    admin: true,
  }),
];

const tok = (s: string): string => s;

/** The permissions of one role under `prefix`. */
export function permissionsFor(spec: RoleSpec, prefix = 'rfw'): Permissions {
  const n = new Names(prefix);
  const p = n.prefix;
  const api = '$JS.API';
  const kvStreams = [n.jobsBucket, n.controlBucket, n.nodesBucket, n.leaderBucket].map(
    (b) => `KV_${b}`,
  );
  const streams = [n.jobsStream, n.delayedStream, n.dlqStream, n.eventsStream, n.flowsStream];
  const pub = new Set<string>([`${api}.INFO`]);
  const sub = new Set<string>(['_INBOX.>']);

  // Every component provisions idempotently on connect (info, then create or
  // update when missing or drifted) the installation's own streams and buckets only.
  for (const s of [...streams, ...kvStreams, ...spec.buckets.map((b) => `KV_${n[b]}`)]) {
    pub.add(`${api}.STREAM.INFO.${s}`);
    pub.add(`${api}.STREAM.CREATE.${s}`);
    pub.add(`${api}.STREAM.UPDATE.${s}`);
  }
  // KV buckets: put/delete by publishing to $KV.<bucket>.<key>; get by direct get
  // (or the stream API); watch/keys through ordered consumers.
  const kv = (bucket: string): void => {
    pub.add(`$KV.${bucket}.>`);
    pub.add(`${api}.DIRECT.GET.KV_${bucket}.>`);
    pub.add(`${api}.DIRECT.GET.KV_${bucket}`);
    pub.add(`${api}.STREAM.MSG.GET.KV_${bucket}`);
    pub.add(`${api}.CONSUMER.CREATE.KV_${bucket}.>`);
    pub.add(`${api}.CONSUMER.CREATE.KV_${bucket}`);
    pub.add(`${api}.CONSUMER.INFO.KV_${bucket}.>`);
    pub.add(`${api}.CONSUMER.DELETE.KV_${bucket}.>`);
  };
  kv(n.jobsBucket);
  kv(n.controlBucket);
  kv(n.nodesBucket);
  for (const b of spec.buckets) kv(n[b]);

  // Pull consumers: one durable per (type, priority), pinned to its filter subject.
  for (const type of spec.consumes) {
    for (const prio of PRIORITIES) {
      const c = n.consumerName(type, prio);
      pub.add(`${api}.CONSUMER.INFO.${n.jobsStream}.${c}`);
      pub.add(`${api}.CONSUMER.CREATE.${n.jobsStream}.${c}.${n.jobFilter(type, prio)}`);
      pub.add(`${api}.CONSUMER.MSG.NEXT.${n.jobsStream}.${c}`);
      pub.add(`$JS.ACK.${n.jobsStream}.${c}.>`);
    }
    pub.add(n.dlqSubject(type));
    pub.add(n.eventSubject(type, '*', '*'));
  }
  // The sweep of jobs no consumer matches first checks the consumers' counts.
  if (spec.consumes.length) pub.add(`${api}.CONSUMER.LIST.${n.jobsStream}`);
  // Cancel requests for its own types only (the runtime subscribes per type).
  for (const type of spec.consumes) sub.add(n.controlSubject('cancel', type));

  // Scheduling: the job (or delayed job) and its `pending` / `delayed` event.
  const produced = spec.produces === '*' ? ['*'] : spec.produces;
  for (const type of produced) {
    pub.add(`${p}.jobs.${tok(type)}.*`);
    // Wire format v2: a job on its own subject, `.jobs.<type>.<priority>.<id>`.
    pub.add(`${p}.jobs.${tok(type)}.*.*`);
    pub.add(`${p}.delayed.${tok(type)}.*`);
    // A producer announces what it enqueued, nothing else: it cannot forge outcomes.
    pub.add(`${p}.events.${tok(type)}.*.pending`);
    pub.add(`${p}.events.${tok(type)}.*.delayed`);
  }

  // Flows: whoever ends a child (a worker, a canceller) records the ending,
  // counts the parent's ended children and, for the last one, releases the
  // parent on its own subject (or ends it `dead`); a parent's handler reads
  // its children's endings through an ordered consumer. A worker releases
  // parents of the types it consumes or produces only: a flow whose parent
  // is of another type needs that type in the role's `produces`.
  if (spec.consumes.length) {
    const flowTypes = spec.produces === '*' ? ['*'] : [...spec.consumes, ...spec.produces];
    for (const type of new Set(flowTypes)) {
      pub.add(`${p}.jobs.${tok(type)}.*.*`);
      pub.add(n.eventSubject(type, '*', 'pending'));
      pub.add(n.eventSubject(type, '*', 'dead'));
    }
  }
  if (spec.consumes.length || spec.admin) {
    pub.add(n.flowsWildcard);
    pub.add(`${api}.CONSUMER.CREATE.${n.flowsStream}.>`);
    pub.add(`${api}.CONSUMER.CREATE.${n.flowsStream}`);
    pub.add(`${api}.CONSUMER.INFO.${n.flowsStream}.>`);
    pub.add(`${api}.CONSUMER.DELETE.${n.flowsStream}.>`);
    pub.add(`${api}.CONSUMER.MSG.NEXT.${n.flowsStream}.>`);
    pub.add(`${api}.DIRECT.GET.${n.jobsStream}`);
  }

  if (spec.scheduler) {
    kv(n.leaderBucket);
    // Releasing due delayed jobs: read the delayed stream, then delete what was released.
    pub.add(`${api}.CONSUMER.CREATE.${n.delayedStream}.>`);
    pub.add(`${api}.CONSUMER.CREATE.${n.delayedStream}`);
    pub.add(`${api}.CONSUMER.DURABLE.CREATE.${n.delayedStream}.>`);
    pub.add(`${api}.CONSUMER.INFO.${n.delayedStream}.>`);
    pub.add(`${api}.CONSUMER.DELETE.${n.delayedStream}.>`);
    pub.add(`${api}.CONSUMER.MSG.NEXT.${n.delayedStream}.>`);
    pub.add(`$JS.ACK.${n.delayedStream}.>`);
    pub.add(`${api}.STREAM.MSG.GET.${n.delayedStream}`);
    pub.add(`${api}.DIRECT.GET.${n.delayedStream}.>`);
    pub.add(`${api}.DIRECT.GET.${n.delayedStream}`);
    pub.add(`${api}.STREAM.MSG.DELETE.${n.delayedStream}`);
    // A delayed job that cannot be released (poison) is dead-lettered under its type.
    pub.add(`${p}.dlq.*`);
    // Cancelled delayed jobs leave the timer heap.
    sub.add(n.eventSubject('*', '*', 'cancelled'));
    sub.add(`${p}.ctl.>`);
  }

  if (spec.admin) {
    kv(n.leaderBucket);
    // Cancel and retry announce `cancelled` and `pending` for any type.
    pub.add(n.eventSubject('*', '*', 'cancelled'));
    pub.add(n.eventSubject('*', '*', 'pending'));
    // Listing, locating and statistics: stream and consumer info, direct gets.
    for (const s of streams) {
      pub.add(`${api}.STREAM.MSG.GET.${s}`);
      pub.add(`${api}.DIRECT.GET.${s}.>`);
      pub.add(`${api}.DIRECT.GET.${s}`);
    }
    pub.add(`${api}.CONSUMER.LIST.${n.jobsStream}`);
    pub.add(`${api}.CONSUMER.NAMES.${n.jobsStream}`);
    pub.add(`${api}.CONSUMER.INFO.${n.jobsStream}.*`);
    // Live events: an ordered consumer on the events stream, and the core subjects.
    pub.add(`${api}.CONSUMER.CREATE.${n.eventsStream}.>`);
    pub.add(`${api}.CONSUMER.CREATE.${n.eventsStream}`);
    pub.add(`${api}.CONSUMER.INFO.${n.eventsStream}.>`);
    pub.add(`${api}.CONSUMER.DELETE.${n.eventsStream}.>`);
    pub.add(`${api}.CONSUMER.MSG.NEXT.${n.eventsStream}.>`);
    sub.add(n.eventsWildcard);
    // Cancel (a delayed job is deleted from its stream; a running one is told to stop),
    // retry from the DLQ, purge the DLQ.
    pub.add(`${api}.STREAM.MSG.DELETE.${n.delayedStream}`);
    pub.add(`${api}.STREAM.MSG.DELETE.${n.jobsStream}`);
    pub.add(`${api}.STREAM.MSG.DELETE.${n.dlqStream}`);
    pub.add(`${api}.STREAM.PURGE.${n.dlqStream}`);
    pub.add(`${p}.ctl.>`);
    // Request/reply APIs of the services (search, usage, ...).
    pub.add(`${p}.api.>`);
    // The storage readings the metrics worker keeps.
    pub.add(`${api}.STREAM.INFO.KV_${n.storageMetricsBucket}`);
    kv(n.storageMetricsBucket);
  }

  for (const name of spec.serves) sub.add(n.apiSubject(name));

  return {
    publish: [...pub].sort(),
    subscribe: [...sub].sort(),
    allowResponses: spec.serves.length > 0,
  };
}

/** Password variable of a user: `RFW_NATS_PASS_WORKER_REPLICATION`. */
export function passwordVar(user: string): string {
  return `RFW_NATS_PASS_${user.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

function list(items: string[], indent: string): string {
  return `[\n${items.map((s) => `${indent}  ${JSON.stringify(s)}`).join('\n')}\n${indent}]`;
}

/**
 * The accounts include file: account RFW (JetStream) with one user per role
 * and an `admin` user with full access to the account, account SYS for the
 * servers' system events. Passwords come from environment variables
 * (`$RFW_NATS_PASS_<USER>`), never from the file.
 */
export function renderAccountsConf(prefix = 'rfw', roles: readonly RoleSpec[] = ROLES): string {
  const users = roles.map((r) => {
    const perm = permissionsFor(r, prefix);
    const i = '        ';
    return [
      `      # ${r.about}`,
      '      {',
      `        user: ${JSON.stringify(r.user)}`,
      `        password: $${passwordVar(r.user)}`,
      '        permissions: {',
      `          publish: { allow: ${list(perm.publish, `${i}  `)} }`,
      `          subscribe: { allow: ${list(perm.subscribe, `${i}  `)} }`,
      ...(perm.allowResponses ? ['          allow_responses: true'] : []),
      '        }',
      '      }',
    ].join('\n');
  });
  return [
    `# NATS accounts and users of rustfs-workers, prefix "${prefix}".`,
    '# GENERATED by `node scripts/gen-nats-accounts.mjs` from libs/supervisor/src/nats-permissions.ts:',
    '# edit that file, not this one (test/deploy/nats-permissions.test.ts checks they agree).',
    '# Passwords are read from the environment: RFW_NATS_PASS_<USER> (see docs/deploy.md).',
    '',
    'accounts {',
    '  RFW {',
    '    jetstream: enabled',
    '    users: [',
    ...users.map((u) => `${u}`),
    '      # operators and the rfw CLI: everything in this account',
    '      {',
    '        user: "admin"',
    `        password: $${passwordVar('admin')}`,
    '      }',
    '    ]',
    '  }',
    '  SYS {',
    '    users: [',
    '      {',
    '        user: "sys"',
    `        password: $${passwordVar('sys')}`,
    '      }',
    '    ]',
    '  }',
    '}',
    'system_account: SYS',
    '',
  ].join('\n');
}

/**
 * Values for the official NATS Helm chart (1.x): 3 servers, JetStream on
 * file storage (PVCs), the monitoring port KEDA reads, and the accounts above
 * as an included file. Passwords reach the servers as `RFW_NATS_PASS_<USER>`
 * environment variables from the Secret `rfw-nats-server`.
 */
export function renderNatsHelmValues(prefix = 'rfw'): string {
  const accounts = renderAccountsConf(prefix)
    .trimEnd()
    .split('\n')
    .map((l) => (l ? `        ${l}` : ''))
    .join('\n');
  return [
    '# Values for the official NATS Helm chart (https://nats-io.github.io/k8s/helm/charts/, chart 1.x):',
    '#   helm repo add nats https://nats-io.github.io/k8s/helm/charts/',
    '#   kubectl -n rustfs-workers create secret generic rfw-nats-server --from-env-file=nats-server.env',
    '#   helm upgrade --install nats nats/nats -n rustfs-workers -f deploy/k8s/nats/values.yaml',
    '# GENERATED by `node scripts/gen-nats-accounts.mjs` (the accounts come from',
    '# libs/supervisor/src/nats-permissions.ts); test/deploy checks it is up to date.',
    'config:',
    '  cluster:',
    '    enabled: true',
    '    replicas: 3',
    '  jetstream:',
    '    enabled: true',
    '    fileStore:',
    '      enabled: true',
    '      dir: /data',
    '      pvc:',
    '        enabled: true',
    '        size: 20Gi',
    '    memoryStore:',
    '      enabled: false',
    '  monitor:',
    '    enabled: true',
    '    port: 8222',
    '  merge:',
    '    lame_duck_duration: 30s',
    '    lame_duck_grace_period: 5s',
    '    $include: accounts.conf',
    'configMap:',
    '  merge:',
    '    data:',
    '      accounts.conf: |',
    accounts,
    'container:',
    '  merge:',
    '    envFrom:',
    '      - secretRef:',
    '          name: rfw-nats-server',
    '    resources:',
    '      requests: { cpu: 500m, memory: 1Gi }',
    '      limits: { memory: 2Gi }',
    'podTemplate:',
    '  topologySpreadConstraints:',
    '    kubernetes.io/hostname:',
    '      maxSkew: 1',
    '      whenUnsatisfiable: DoNotSchedule',
    'podDisruptionBudget:',
    '  enabled: true',
    'natsBox:',
    '  enabled: false',
    '',
  ].join('\n');
}
