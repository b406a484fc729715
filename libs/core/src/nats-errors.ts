/** Turn a NATS client or server error into this project's typed errors. */
import {
  ClosedConnectionError,
  DrainingConnectionError,
  NoRespondersError,
  RequestError,
  TimeoutError,
} from '@nats-io/nats-core';
import { JetStreamApiError } from '@nats-io/jetstream';
import { ConnectionLostError, PayloadTooLargeError, QueueFullError } from './errors.js';

/** Server error codes we act on. */
export const JsCode = {
  StreamNotFound: 10059,
  ConsumerNotFound: 10014,
  NoMessageFound: 10037,
  WrongLastSequence: 10071,
  MaximumMessagesExceeded: 10077,
  MaximumBytesExceeded: 10047,
  MessageTooLarge: 10054,
  /** JetStream system temporarily unavailable (no meta leader, a cluster recovering). */
  ClusterUnavailable: 10008,
} as const;

/** Server codes meaning JetStream is (momentarily) not there: cluster recovery, no meta leader. */
const UNAVAILABLE_CODES: ReadonlySet<number> = new Set([10039, JsCode.ClusterUnavailable]);

export function mapPublishError(err: unknown, subject: string): Error {
  if (
    err instanceof JetStreamApiError &&
    err.code !== JsCode.MaximumMessagesExceeded &&
    err.code !== JsCode.MaximumBytesExceeded &&
    !/maximum (messages|bytes)/i.test(err.message) &&
    (UNAVAILABLE_CODES.has(err.code) || err.status === 503)
  ) {
    return new ConnectionLostError(`JetStream unavailable for ${subject}: ${err.message}`, {
      cause: err,
    });
  }
  if (err instanceof JetStreamApiError) {
    if (err.code === JsCode.MaximumMessagesExceeded || err.code === JsCode.MaximumBytesExceeded) {
      return new QueueFullError(subject, { cause: err });
    }
    if (err.code === JsCode.MessageTooLarge) return new PayloadTooLargeError(-1, -1);
    return err;
  }
  if (
    err instanceof ClosedConnectionError ||
    err instanceof DrainingConnectionError ||
    err instanceof TimeoutError ||
    err instanceof NoRespondersError ||
    err instanceof RequestError
  ) {
    return new ConnectionLostError(`publish to ${subject} failed: ${err.message}`, { cause: err });
  }
  const msg = (err as Error)?.message ?? String(err);
  if (/maximum messages|maximum bytes/i.test(msg))
    return new QueueFullError(subject, { cause: err });
  return err instanceof Error ? err : new Error(msg);
}
