/**
 * What a job message keeps in memory while its job runs. The NATS client
 * decodes a message's headers on first read and caches the result on the
 * message: a `Map` of seven name strings and value lists, each value a
 * slice of the header block's text, about 1.1 KB per job message. The
 * runner reads the headers once, to decode the job; with 10,000 jobs in
 * flight the cache was 11 MB of heap (docs/benchmarks.md, finding 8).
 */
import type { JsMsg } from '@nats-io/jetstream';

interface MsgInternals {
  _headers?: unknown;
  _rdata?: Uint8Array;
  _msg?: { hdr?: number };
}

/**
 * Drop the message's decoded headers. The raw bytes stay, so a later read of
 * `msg.headers` (a dead letter copies them) decodes them again, with the same
 * values. Does nothing unless the message has the client's known shape.
 */
export function forgetDecodedHeaders(msg: JsMsg): void {
  const inner = (msg as unknown as { msg?: MsgInternals }).msg;
  if (
    inner &&
    inner._headers !== undefined &&
    inner._rdata instanceof Uint8Array &&
    typeof inner._msg?.hdr === 'number' &&
    inner._msg.hdr > -1
  ) {
    inner._headers = undefined;
  }
}
