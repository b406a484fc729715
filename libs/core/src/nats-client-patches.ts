/**
 * Two targeted fixes to the NATS client's hot path, applied once on import.
 *
 * 1.
 * `RequestOne.cancel()` (nats-core 3.x) runs after *every* reply and always
 * builds `new RequestError("cancelled")` to reject a deferred that has
 * usually resolved already, so the error is thrown away. Capturing its stack
 * trace was 7% to 10% of a worker's or producer's CPU in the bench profiles
 * (docs/benchmarks.md, finding 2). The wrapper runs the original method with
 * stack capture off: behaviour is unchanged, except that a request cancelled
 * while still pending rejects with an error that has no stack.
 *
 * 2. `MsgHdrsImpl.decode()` fills each header's value list by pushing onto
 * an empty array, which V8 sizes for 17 entries: 152 bytes per header where
 * one value needs 24. A job message carries about seven headers and stays in
 * memory for as long as its job runs, so with 10,000 jobs in flight this was
 * 11 MB. The wrapper copies each list to its exact size; values unchanged.
 *
 * 3. `ProtocolHandler.sendCommand()` flushes the outbound buffer in a
 * microtask, so every burst of promise continuations (a reply resolving a
 * request, the next write) is its own `socket.write()`: a worker made several
 * writes per job, and `writeBuffer` was 13% of its CPU (finding 11). The
 * replacement flushes in `setImmediate`, once per turn of the event loop, so
 * everything written while the replies of one socket read are handled goes
 * out in one write. The inline flush at `pendingLimit` is kept.
 */
import type { JsMsg } from '@nats-io/jetstream';
import { MsgHdrsImpl, ProtocolHandler, RequestOne } from '@nats-io/nats-core/internal';

const PATCHED = Symbol.for('rfw.nats.requestOne.cancel');

interface Patchable {
  cancel(err?: Error): void;
  [PATCHED]?: true;
}

export function patchNatsClient(): void {
  const proto = (RequestOne as unknown as { prototype: Patchable } | undefined)?.prototype;
  if (!proto || typeof proto.cancel !== 'function' || proto[PATCHED]) return;
  const original = proto.cancel;
  proto.cancel = function cancel(this: Patchable, err?: Error): void {
    if (err) return original.call(this, err);
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      original.call(this);
    } finally {
      Error.stackTraceLimit = limit;
    }
  };
  proto[PATCHED] = true;

  const hdrs = MsgHdrsImpl as unknown as {
    decode(a: Uint8Array): { headers: Map<string, string[]> };
    [PATCHED]?: true;
  };
  if (typeof hdrs.decode !== 'function' || hdrs[PATCHED]) return;
  const decode = hdrs.decode.bind(hdrs);
  hdrs.decode = (a: Uint8Array) => {
    const h = decode(a);
    if (h.headers instanceof Map) for (const [k, v] of h.headers) h.headers.set(k, v.slice());
    return h;
  };
  hdrs[PATCHED] = true;
  patchFlush();
}

interface Outbound {
  length(): number;
  size(): number;
  fill(buf: Uint8Array, ...payloads: unknown[]): void;
}
interface FlushPatchable {
  outbound: Outbound;
  pendingLimit: number;
  flushPending(): void;
  sendCommand(cmd: string | Uint8Array, ...payloads: unknown[]): void;
  [PATCHED]?: true;
}

const utf8 = new TextEncoder();

function patchFlush(): void {
  const proto = (ProtocolHandler as unknown as { prototype: FlushPatchable } | undefined)
    ?.prototype;
  if (!proto || typeof proto.sendCommand !== 'function' || proto[PATCHED]) return;
  proto.sendCommand = function sendCommand(
    this: FlushPatchable,
    cmd: string | Uint8Array,
    ...payloads: unknown[]
  ): void {
    const len = this.outbound.length();
    this.outbound.fill(typeof cmd === 'string' ? utf8.encode(cmd) : cmd, ...payloads);
    if (len === 0) setImmediate(() => this.flushPending());
    else if (this.outbound.size() >= this.pendingLimit) this.flushPending();
  };
  proto[PATCHED] = true;
}

/*
 * Not a patch, a helper on the same internals: the client decodes a
 * message's headers on first read and caches the result on the message (a
 * `Map` of about seven names and value lists, some 1.1 KB per job message).
 * The worker reads them once, to decode the job; with 10,000 jobs in flight
 * the cache was 11 MB of heap (docs/benchmarks.md, finding 13).
 */
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

patchNatsClient();
