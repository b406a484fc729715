/**
 * `AlertManager`: turns the rules' conditions into alert records and webhook
 * notifications.
 *
 * - State lives in the control bucket under `alerts.<kind>.<subject>`, so a
 *   monitor that becomes leader knows what already fired and what was already
 *   sent: a firing alert is never announced twice.
 * - Only the monitor leader evaluates, writes and sends. Every write is a
 *   compare-and-set on the record's revision and carries the leader's fencing
 *   token; a record written under a newer token stops an older leader.
 * - Each record keeps an outbox of notifications not yet delivered, oldest
 *   first. The leader POSTs them in order, retrying with capped exponential
 *   backoff and jitter while the endpoint fails, and removes each one once it
 *   is accepted (2xx). Delivery is at-least-once: a leader that dies between a
 *   POST and its removal leaves the notification to its successor, which sends
 *   it again with the same `id` (the receiver's idempotency key).
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import type { KV, KvEntry } from '@nats-io/kv';
import { decodeJson, encodeJson, isCasConflict, type Logger } from '@rfw/core/internal';
import { bucketKeys } from './bucket-keys.js';
import {
  enabledKinds,
  evaluateRules,
  fmtAge,
  fmtMs,
  type AlertCondition,
  type RuleInput,
} from './alert-rules.js';
import { oldestWaitingMs, type ClusterSnapshot } from './cluster-view.js';
import type {
  CompiledAlertOptions,
  CompiledMonitorOptions,
  LeaderElector,
} from './monitor-options.js';
import { postNotification, redactUrl, type AlertPayload } from './webhook.js';

/** An alert's state: the value of `<prefix>_control.alerts.<key>`. */
export interface AlertRecord {
  v: 1;
  key: string;
  kind: AlertPayload['kind'];
  labels: Record<string, string>;
  severity: AlertPayload['severity'];
  status: 'firing' | 'resolved';
  /** Times this alert has fired, from 1. */
  episode: number;
  summary: string;
  value: number;
  threshold: number;
  /** ms since the epoch. */
  startsAt: number;
  endsAt?: number;
  updatedAt: number;
  /** Fencing token of the leader that last wrote the record. */
  token: number;
  /** Notifications not yet accepted by the webhook, oldest first. */
  outbox: AlertPayload[];
  lastDelivered?: { id: string; status: 'firing' | 'resolved'; at: number; attempts: number };
}

/** Thrown inside a write when a newer leader owns the record. */
class FencedError extends Error {}

const KEY_PREFIX = 'alerts.';

export interface AlertManagerDeps {
  control: KV;
  /** Name of the control bucket. */
  controlBucket: string;
  jsm: JetStreamManager;
  prefix: string;
  nodeId: string;
  elector?: LeaderElector;
  delivery: CompiledMonitorOptions['delivery'];
  log: Logger;
  /** Called after each delivery attempt. */
  onDelivery?: (status: 'firing' | 'resolved', outcome: 'delivered' | 'failed') => void;
}

export class AlertManager {
  #cfg: CompiledAlertOptions;
  readonly #deps: AlertManagerDeps;
  readonly #delivering = new Set<string>();
  /** Aborted on stop and on loss of leadership: wakes delivery loops out of their backoff. */
  #abort = new AbortController();
  #running = false;
  #unsubscribe?: () => void;
  /** Serialises this process's writes so evaluation and delivery never race each other. */
  #lock: Promise<unknown> = Promise.resolve();
  #last: AlertRecord[] = [];
  #evaluating?: Promise<void>;

  constructor(cfg: CompiledAlertOptions, deps: AlertManagerDeps) {
    this.#cfg = cfg;
    this.#deps = deps;
  }

  get config(): CompiledAlertOptions {
    return this.#cfg;
  }

  configure(cfg: CompiledAlertOptions): void {
    this.#cfg = cfg;
  }

  /** True while this monitor may evaluate and send (always, without an elector). */
  get isLeader(): boolean {
    return this.#deps.elector ? this.#deps.elector.isLeader : true;
  }

  get #token(): number {
    return this.#deps.elector ? (this.#deps.elector.fencingToken ?? -1) : 0;
  }

  /** The records read by the last evaluation or `list()`. */
  get lastKnown(): readonly AlertRecord[] {
    return this.#last;
  }

  start(): void {
    this.#running = true;
    this.#unsubscribe = this.#deps.elector?.onChange((e) => {
      if (!e.isLeader) {
        this.#abort.abort();
        this.#abort = new AbortController();
      }
    });
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#unsubscribe?.();
    this.#abort.abort();
    await this.#evaluating?.catch(() => undefined);
  }

  /** Every alert record, firing ones first. */
  async list(): Promise<AlertRecord[]> {
    const { control, jsm, controlBucket } = this.#deps;
    const keys = await bucketKeys(jsm, controlBucket, `${KEY_PREFIX}>`);
    const out: AlertRecord[] = [];
    await Promise.all(
      keys.map(async (k) => {
        const e = await control.get(k);
        const r = e && parse(e);
        if (r) out.push(r);
      }),
    );
    out.sort(
      (a, b) =>
        (a.status === 'firing' ? 0 : 1) - (b.status === 'firing' ? 0 : 1) ||
        b.updatedAt - a.updatedAt,
    );
    this.#last = out;
    return out;
  }

  /** One evaluation round (leader only): record changes, then deliver what is pending. */
  evaluate(input: RuleInput): Promise<void> {
    this.#evaluating ??= this.#evaluate(input).finally(() => (this.#evaluating = undefined));
    return this.#evaluating;
  }

  async #evaluate(input: RuleInput): Promise<void> {
    if (!this.#running || !this.isLeader) return;
    const conditions = evaluateRules(this.#cfg, input);
    const enabled = enabledKinds(this.#cfg);
    const records = new Map((await this.list()).map((r) => [r.key, r]));
    const now = input.now ?? Date.now();
    try {
      for (const c of conditions.values()) {
        const r = records.get(c.key);
        if (!r || r.status === 'resolved') await this.#fire(c, now);
      }
      for (const r of records.values()) {
        if (r.status !== 'firing' || conditions.has(r.key)) continue;
        const reason = enabled.has(r.kind)
          ? resolution(r, input.snapshot)
          : { summary: `the ${r.kind} rule was turned off`, value: r.value };
        await this.#resolve(r.key, reason.summary, reason.value, now);
      }
      // Forget resolved alerts after a day.
      for (const r of records.values()) {
        if (r.status === 'resolved' && r.outbox.length === 0 && now - r.updatedAt > 86_400_000)
          await this.#withLock(() => this.#deps.control.delete(KEY_PREFIX + r.key));
      }
    } catch (err) {
      if (err instanceof FencedError) {
        this.#deps.log.warn('a newer monitor leader owns the alerts: standing by');
        return;
      }
      throw err;
    }
    for (const r of await this.list()) if (r.outbox.length) this.#startDelivery(r.key);
  }

  #payload(r: AlertRecord, status: 'firing' | 'resolved'): AlertPayload {
    return {
      version: 1,
      id: `${this.#deps.prefix}.${r.key}.${r.episode}.${status}`,
      status,
      alert: r.key,
      kind: r.kind,
      severity: r.severity,
      labels: r.labels,
      summary: r.summary,
      value: r.value,
      threshold: r.threshold,
      episode: r.episode,
      startsAt: new Date(r.startsAt).toISOString(),
      endsAt: r.endsAt === undefined ? undefined : new Date(r.endsAt).toISOString(),
      installation: this.#deps.prefix,
    };
  }

  async #fire(c: AlertCondition, now: number): Promise<void> {
    const send = this.#cfg.notificationEndpoint !== undefined;
    const written = await this.#write(c.key, (cur) => {
      if (cur?.status === 'firing') return undefined;
      const r: AlertRecord = {
        v: 1,
        key: c.key,
        kind: c.kind,
        labels: c.labels,
        severity: c.severity,
        status: 'firing',
        episode: (cur?.episode ?? 0) + 1,
        summary: c.summary,
        value: c.value,
        threshold: c.threshold,
        startsAt: now,
        updatedAt: now,
        token: this.#token,
        outbox: cur?.outbox ?? [],
        lastDelivered: cur?.lastDelivered,
      };
      if (send) r.outbox = [...r.outbox, this.#payload(r, 'firing')];
      return r;
    });
    if (written)
      this.#deps.log.warn({ alert: c.key, value: c.value }, `alert firing: ${c.summary}`);
  }

  async #resolve(key: string, summary: string, value: number, now: number): Promise<void> {
    const send = this.#cfg.notificationEndpoint !== undefined;
    const written = await this.#write(key, (cur) => {
      if (!cur || cur.status !== 'firing') return undefined;
      const r: AlertRecord = {
        ...cur,
        status: 'resolved',
        summary,
        value,
        endsAt: now,
        updatedAt: now,
        token: this.#token,
      };
      // Without an endpoint nothing was queued for the firing either.
      if (send || cur.outbox.length) r.outbox = [...cur.outbox, this.#payload(r, 'resolved')];
      return r;
    });
    if (written) this.#deps.log.info({ alert: key }, `alert resolved: ${summary}`);
  }

  #withLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => undefined);
    return run;
  }

  /**
   * Compare-and-set a record. `mutate` returns the new record, or `undefined`
   * to leave it alone. Resolves with the record written, if any.
   */
  #write(
    key: string,
    mutate: (cur: AlertRecord | undefined) => AlertRecord | undefined,
  ): Promise<AlertRecord | undefined> {
    return this.#withLock(async () => {
      const { control } = this.#deps;
      for (let i = 0; i < 10; i++) {
        if (!this.#running || !this.isLeader) return undefined;
        const entry = await control.get(KEY_PREFIX + key);
        const cur = entry && entry.operation === 'PUT' ? parse(entry) : undefined;
        if (cur && cur.token > this.#token) throw new FencedError();
        const next = mutate(cur);
        if (!next) return undefined;
        try {
          if (entry) await control.update(KEY_PREFIX + key, encodeJson(next), entry.revision);
          else await control.create(KEY_PREFIX + key, encodeJson(next));
          return next;
        } catch (err) {
          if (!isCasConflict(err)) throw err;
        }
      }
      throw new Error(`alert ${key}: the record kept changing`);
    });
  }

  #startDelivery(key: string): void {
    if (this.#delivering.has(key) || !this.#cfg.notificationEndpoint) return;
    this.#delivering.add(key);
    void this.#deliver(key)
      .catch((err: unknown) => {
        if (!(err instanceof FencedError))
          this.#deps.log.error({ err, alert: key }, 'alert delivery stopped');
      })
      .finally(() => this.#delivering.delete(key));
  }

  async #deliver(key: string): Promise<void> {
    const { delivery, log, control } = this.#deps;
    let failures = 0;
    while (this.#running && this.isLeader) {
      const url = this.#cfg.notificationEndpoint;
      if (!url) return;
      const entry = await control.get(KEY_PREFIX + key);
      const rec = entry && parse(entry);
      const next = rec?.outbox[0];
      if (!next) return;
      try {
        await postNotification(
          url,
          { ...next, monitor: this.#deps.nodeId, sentAt: new Date().toISOString() },
          { timeoutMs: delivery.timeoutMs, headers: delivery.headers, signal: this.#abort.signal },
        );
      } catch (err) {
        failures++;
        this.#deps.onDelivery?.(next.status, 'failed');
        const wait = retryDelay(failures, delivery.retryBaseMs, delivery.retryCapMs);
        log.warn(
          { err, alert: key, notification: next.id, attempt: failures, retryInMs: wait },
          `alert notification not delivered to ${redactUrl(url)}`,
        );
        await sleep(wait, this.#abort.signal);
        continue;
      }
      this.#deps.onDelivery?.(next.status, 'delivered');
      log.info(
        { alert: key, notification: next.id, attempts: failures + 1 },
        'alert notification delivered',
      );
      const attempts = failures + 1;
      failures = 0;
      await this.#write(key, (cur) => {
        if (!cur || !cur.outbox.some((n) => n.id === next.id)) return undefined;
        return {
          ...cur,
          outbox: cur.outbox.filter((n) => n.id !== next.id),
          lastDelivered: { id: next.id, status: next.status, at: Date.now(), attempts },
          token: Math.max(cur.token, this.#token),
        };
      });
    }
  }
}

function parse(e: KvEntry): AlertRecord | undefined {
  if (e.operation !== 'PUT') return undefined;
  try {
    const r = decodeJson<AlertRecord>(e.value);
    return r && r.v === 1 && Array.isArray(r.outbox) ? r : undefined;
  } catch {
    return undefined;
  }
}

/** Why a firing alert is over, with the current value where it is known. */
function resolution(r: AlertRecord, snapshot: ClusterSnapshot): { summary: string; value: number } {
  if (r.kind === 'worker_down') {
    const node = snapshot.nodes.find((n) => n.nodeId === r.labels.node);
    return node
      ? { summary: `node ${r.labels.node} is sending heartbeats again`, value: node.silentMs }
      : { summary: `node ${r.labels.node} left the cluster (its heartbeat was removed)`, value: 0 };
  }
  if (r.kind === 'queue_latency') {
    const l = snapshot.latency?.find(
      (x) => x.type === r.labels.type && x.priority === r.labels.priority,
    );
    const age = oldestWaitingMs(l, snapshot.at);
    return {
      summary:
        age > 0
          ? `the oldest ${r.labels.priority} ${r.labels.type} job has waited ${fmtAge(age)} (threshold ${fmtMs(r.threshold)})`
          : `no ${r.labels.priority} ${r.labels.type} job is waiting any more`,
      value: age,
    };
  }
  if (r.kind === 'queue_size') {
    const size = snapshot.statistics.byType[r.labels.type ?? '']?.total.queueSize ?? 0;
    return {
      summary: `queue ${r.labels.type} is back to ${size} jobs (threshold ${r.threshold})`,
      value: size,
    };
  }
  return {
    summary: `${r.labels.type} job failures are back under the threshold of ${r.threshold}`,
    value: 0,
  };
}

/** Exponential, capped, with "equal jitter": never less than half the step. */
function retryDelay(failures: number, baseMs: number, capMs: number): number {
  const exp = Math.min(capMs, baseMs * 2 ** (failures - 1));
  return Math.round(exp / 2 + (Math.random() * exp) / 2);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
