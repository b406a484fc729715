import type { JobState, Priority } from './job.js';
import { ConfigError } from './errors.js';

/** The last token of a stored job message published to a v1 subject (no id in the subject). */
export const V1_ID_TOKEN = '_';

const PREFIX_PATTERN = /^[a-z][a-z0-9_]{0,15}$/;

/**
 * Every subject, stream, consumer and bucket name of one installation, derived
 * from its prefix so that two installations can share one NATS account.
 * The wire-format document (`docs/wire-format.md`) lists them all.
 */
export class Names {
  constructor(
    /**
     * The installation's prefix: a lowercase letter, then up to 15 lowercase
     * letters, digits or `_`. The constructor throws `ConfigError` otherwise.
     * @default 'rfw'
     */
    readonly prefix = 'rfw',
  ) {
    if (!PREFIX_PATTERN.test(prefix)) {
      throw new ConfigError('prefix', `must match ${PREFIX_PATTERN.source}`);
    }
  }

  /** Stream `<prefix>_jobs`: jobs waiting to run or running. */
  get jobsStream(): string {
    return `${this.prefix}_jobs`;
  }
  /** Stream `<prefix>_delayed`: jobs scheduled for later, until they are due. */
  get delayedStream(): string {
    return `${this.prefix}_delayed`;
  }
  /** Stream `<prefix>_dlq`: the dead letter queue. */
  get dlqStream(): string {
    return `${this.prefix}_dlq`;
  }
  /** Stream `<prefix>_events`: every job event, kept for listing and statistics. */
  get eventsStream(): string {
    return `${this.prefix}_events`;
  }
  /** Stream `<prefix>_flows`: one message per ended child of a flow, by parent. */
  get flowsStream(): string {
    return `${this.prefix}_flows`;
  }
  /** KV bucket: job id -> job record. */
  get jobsBucket(): string {
    return `${this.prefix}_jobs`;
  }
  /** KV bucket: node id -> heartbeat. */
  get nodesBucket(): string {
    return `${this.prefix}_nodes`;
  }
  /** KV bucket: role -> leader lease. */
  get leaderBucket(): string {
    return `${this.prefix}_leader`;
  }
  /** KV bucket: cluster-wide switches (paused types, rate limits, cursors). */
  get controlBucket(): string {
    return `${this.prefix}_control`;
  }
  /**
   * KV bucket: storage node id -> metrics snapshot, written by the metrics
   * worker and read by the monitor.
   */
  get storageMetricsBucket(): string {
    return `${this.prefix}_storage_metrics`;
  }

  /**
   * `<prefix>.jobs.<type>.<priority>`: where a wire-format v1 producer
   * publishes. The jobs stream stores such a message as
   * `<prefix>.jobs.<type>.<priority>._` (a subject transform), so that every
   * stored job message has the shape of {@link jobMessageSubject}.
   */
  jobSubject(type: string, priority: Priority | '*'): string {
    return `${this.prefix}.jobs.${type}.${priority}`;
  }
  /**
   * `<prefix>.jobs.<type>.<priority>.<id>`: one subject per job (wire format
   * v2), so that a waiting job is found by id with one direct get.
   */
  jobMessageSubject(type: string, priority: Priority, id: string): string {
    return `${this.prefix}.jobs.${type}.${priority}.${id}`;
  }
  /** Every stored job message of a type and priority (wildcards allowed): consumers' filter. */
  jobFilter(type: string, priority: Priority | '*'): string {
    return `${this.prefix}.jobs.${type}.${priority}.*`;
  }
  /** The stored subject of a job with id `id`, of any type and priority. */
  jobIdFilter(id: string): string {
    return `${this.prefix}.jobs.*.*.${id}`;
  }
  /** `<prefix>.jobs.>`: every job subject. */
  get jobsWildcard(): string {
    return `${this.prefix}.jobs.>`;
  }
  /** `<prefix>.delayed.<type>.<priority>`: where a job scheduled for later waits (wildcards allowed). */
  delayedSubject(type: string, priority: Priority | '*'): string {
    return `${this.prefix}.delayed.${type}.${priority}`;
  }
  /** `<prefix>.delayed.>`: every delayed-job subject. */
  get delayedWildcard(): string {
    return `${this.prefix}.delayed.>`;
  }
  /** `<prefix>.dlq.<type>`: the dead letters of a type (`*` for any). */
  dlqSubject(type: string): string {
    return `${this.prefix}.dlq.${type}`;
  }
  /** `<prefix>.dlq.>`: every dead-letter subject. */
  get dlqWildcard(): string {
    return `${this.prefix}.dlq.>`;
  }
  /** `<prefix>.events.<type>.<priority>.<state>`: live events, also kept in the events stream. */
  eventSubject(
    type: string,
    priority: Priority | '*',
    state: JobState | 'progress' | 'deferred' | '*',
  ): string {
    return `${this.prefix}.events.${type}.${priority}.${state}`;
  }
  /** `<prefix>.events.>`: every event subject. */
  get eventsWildcard(): string {
    return `${this.prefix}.events.>`;
  }
  /**
   * `<prefix>.flow.<parent id>.<state>`: the ending of a child of that parent
   * (`succeeded`, `dead`, `cancelled`; `*` for all).
   */
  flowSubject(parentId: string, state: JobState | '*'): string {
    return `${this.prefix}.flow.${parentId}.${state}`;
  }
  /** `<prefix>.flow.>`: every flow subject. */
  get flowsWildcard(): string {
    return `${this.prefix}.flow.>`;
  }
  /** Core NATS control subject for a job type: cancel a running job, etc. */
  controlSubject(kind: 'cancel' | 'pause' | 'resume', type: string): string {
    return `${this.prefix}.ctl.${kind}.${type}`;
  }
  /** Request/reply subject of a service API, e.g. `submit`, `search`. */
  apiSubject(name: string): string {
    return `${this.prefix}.api.${name}`;
  }
  /** Durable consumer shared by every worker instance of a type, one per priority. */
  consumerName(type: string, priority: Priority): string {
    return `${this.prefix}_${type}_${priority}`;
  }

  /**
   * Parse `<prefix>.<kind>.<type>.<priority>[.<id>]` back into its parts. `id`
   * is the subject's job id token; absent on a v1 subject and on a stored v1
   * message (`_`).
   */
  parseJobSubject(
    subject: string,
  ): { kind: string; type: string; priority: string; id?: string } | undefined {
    const parts = subject.split('.');
    if (parts.length < 4 || parts[0] !== this.prefix) return undefined;
    const token = parts[4];
    return {
      kind: parts[1] ?? '',
      type: parts[2] ?? '',
      priority: parts[3] ?? '',
      ...(token !== undefined && token !== V1_ID_TOKEN && parts.length === 5 ? { id: token } : {}),
    };
  }
}
