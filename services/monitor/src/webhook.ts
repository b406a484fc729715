/**
 * Delivering one alert notification to the webhook: a JSON POST with an
 * idempotency key, a timeout, and a typed error saying why it failed.
 */
import { RfwError } from '@rfw/core';
import type { AlertKind, Severity } from './alert-rules.js';

/** The JSON body POSTed to the webhook (version 1). */
export interface AlertPayload {
  version: 1;
  /** Unique per alert, episode and status: the receiver's idempotency key (also the `Idempotency-Key` header). */
  id: string;
  status: 'firing' | 'resolved';
  /** The alert's key: `<kind>.<type or node>` (`queue_latency.<type>.<priority>`). */
  alert: string;
  kind: AlertKind;
  severity: Severity;
  labels: Record<string, string>;
  summary: string;
  /** The measured value when this notification was created (count, ms, jobs). */
  value: number;
  threshold: number;
  /** Counts the times this alert has fired, from 1. */
  episode: number;
  /** When the alert started firing, ISO 8601. */
  startsAt: string;
  /** When it resolved, ISO 8601 (resolved notifications only). */
  endsAt?: string;
  /** The installation's names prefix. */
  installation: string;
  /** Node id of the monitor that sent it. */
  monitor?: string;
  /** ISO 8601. */
  sentAt?: string;
}

/** The webhook did not accept a notification. */
export class WebhookDeliveryError extends RfwError {
  constructor(
    readonly url: string,
    /** HTTP status, when the endpoint answered. */
    readonly status: number | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Strip credentials from a URL for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '***';
      u.password = '';
    }
    return u.toString();
  } catch {
    return '(invalid url)';
  }
}

/** POST one notification; resolves on a 2xx answer, else throws `WebhookDeliveryError`. */
export async function postNotification(
  url: string,
  payload: AlertPayload,
  opts: { timeoutMs: number; headers?: Record<string, string>; signal?: AbortSignal },
): Promise<void> {
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'rfw-monitor/0.1',
        'idempotency-key': payload.id,
        ...opts.headers,
      },
      body: JSON.stringify(payload),
      signal,
      redirect: 'error',
    });
  } catch (err) {
    const why = timeout.aborted ? `timed out after ${opts.timeoutMs} ms` : (err as Error).message;
    throw new WebhookDeliveryError(redactUrl(url), undefined, `webhook failed: ${why}`, {
      cause: err,
    });
  }
  // Drain the body so the connection can be reused.
  const text = await res.text().catch(() => '');
  if (res.status < 200 || res.status >= 300) {
    throw new WebhookDeliveryError(
      redactUrl(url),
      res.status,
      `webhook answered ${res.status}: ${text.slice(0, 200)}`,
    );
  }
}
