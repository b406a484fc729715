/**
 * Generators of malformed job messages for the bad-input scenario. Each case
 * is a message on a job subject that must never run: a body that is not JSON,
 * binary, empty, of the wrong shape or huge; or a valid body with one broken
 * header. Random extra headers are sprinkled on as noise. Every case carries
 * the reason the dead letter queue must give for it.
 */
import fc from 'fast-check';
import { PRIORITIES } from '@rfw/core';
import { ChaosPayload } from '../fixtures/chaos-payload.js';

export interface BadMessage {
  kind: string;
  priority: string;
  /** Headers to send; `undefined`: a message with no header block at all. */
  headers?: Array<[string, string]>;
  body: Uint8Array;
  /** What the dead letter reason must match. */
  reason: RegExp;
}

const enc = new TextEncoder();
const notJson = (s: string): boolean => {
  try {
    JSON.parse(s);
    return false;
  } catch {
    return true;
  }
};
const notUtf8 = (b: Uint8Array): boolean => {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return false;
  } catch {
    return true;
  }
};

const priority = fc.constantFrom(...PRIORITIES);
/** Header names outside the `Rfw-`/`Nats-` namespaces: noise the runtime must ignore. */
const noiseHeaders = fc.array(
  fc.tuple(
    fc.stringMatching(/^X-[A-Za-z0-9-]{1,20}$/),
    fc.string({ maxLength: 40 }).filter((v) => !/[\r\n]/.test(v)),
  ),
  { maxLength: 3 },
);

/** Header values the client would send unchanged (it trims and refuses CR/LF). */
const headerValue = (pred: (v: string) => boolean): fc.Arbitrary<string> =>
  fc
    .oneof(
      fc.string({ minLength: 1, maxLength: 30 }),
      fc.integer().map(String),
      fc.double().map(String),
      fc.bigInt().map(String),
    )
    .map((v) => v.trim())
    .filter((v) => v.length > 0 && !/[\r\n]/.test(v) && pred(v));

const intIn = (v: string, min: number, max: number): boolean =>
  /^-?\d+$/.test(v) && Number(v) >= min && Number(v) <= max;

/** One broken header on an otherwise valid job: [name, value, what the reason must say]. */
const badHeader: fc.Arbitrary<[string, string, RegExp]> = fc.oneof(
  headerValue((v) => !intIn(v, 0, 1000)).map((v): [string, string, RegExp] => [
    'Rfw-Max-Retries',
    v,
    /Rfw-Max-Retries/,
  ]),
  headerValue((v) => !intIn(v, 1, 7 * 24 * 3600_000)).map((v): [string, string, RegExp] => [
    'Rfw-Timeout-Ms',
    v,
    /Rfw-Timeout-Ms/,
  ]),
  headerValue((v) => !intIn(v, 0, Number.MAX_SAFE_INTEGER)).map((v): [string, string, RegExp] => [
    'Rfw-Created-At',
    v,
    /Rfw-Created-At/,
  ]),
  headerValue((v) => !intIn(v, 0, Number.MAX_SAFE_INTEGER)).map((v): [string, string, RegExp] => [
    'Rfw-Run-At',
    v,
    /Rfw-Run-At/,
  ]),
  headerValue((v) => !intIn(v, 0, 1_000_000)).map((v): [string, string, RegExp] => [
    'Rfw-Attempts',
    v,
    /Rfw-Attempts/,
  ]),
  headerValue((v) => v !== '1').map((v): [string, string, RegExp] => [
    'Rfw-Version',
    v,
    /unsupported Rfw-Version/,
  ]),
  headerValue((v) => !/^[A-Za-z0-9_-]{1,128}$/.test(v)).map((v): [string, string, RegExp] => [
    'Rfw-Job-Id',
    v,
    /invalid job id/,
  ]),
);

const NOT_JSON = /not valid UTF-8 JSON/;
const SCHEMA = /fails the chaos schema/;

/** Bodies that can never be a valid chaos payload, with the reason they earn. */
const badBody: fc.Arbitrary<{ kind: string; body: Uint8Array; reason: RegExp }> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .string({ minLength: 1, maxLength: 200, unit: 'binary' })
      .filter(notJson)
      .map((s) => ({ kind: 'not-json', body: enc.encode(s), reason: NOT_JSON })),
  },
  {
    weight: 3,
    arbitrary: fc
      .uint8Array({ minLength: 1, maxLength: 300 })
      .filter(notUtf8)
      .map((b) => ({ kind: 'binary', body: b, reason: NOT_JSON })),
  },
  {
    weight: 1,
    arbitrary: fc.constant({ kind: 'empty', body: new Uint8Array(0), reason: /empty body/ }),
  },
  {
    weight: 4,
    arbitrary: fc
      .oneof(
        fc.jsonValue({ maxDepth: 3 }),
        // Near misses: the right keys with the wrong types or an extra key.
        fc.record({
          n: fc.oneof(fc.string(), fc.double({ noInteger: true }), fc.constant(null), fc.boolean()),
        }),
        fc.record({
          n: fc.integer(),
          sleepMs: fc.oneof(fc.string(), fc.integer({ min: -1e9, max: -1 })),
        }),
        fc.record({
          n: fc.integer(),
          mode: fc.string().filter((m) => !['ok', 'flaky', 'fatal'].includes(m)),
        }),
        fc.record({ n: fc.integer(), extra: fc.jsonValue({ maxDepth: 1 }) }),
      )
      .filter((v) => !ChaosPayload.safeParse(v).success)
      .map((v) => ({ kind: 'wrong-types', body: enc.encode(JSON.stringify(v)), reason: SCHEMA })),
  },
  {
    weight: 1,
    // Large valid JSON of the wrong shape (an unknown key): up to 256 KiB.
    arbitrary: fc.integer({ min: 16 * 1024, max: 256 * 1024 }).map((size) => ({
      kind: 'huge',
      body: enc.encode(JSON.stringify({ n: 1, pad: 'x'.repeat(size) })),
      reason: SCHEMA,
    })),
  },
);

/** A malformed message: a bad body (with or without headers) or a bad header. */
export const badMessage: fc.Arbitrary<BadMessage> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .record({ b: badBody, priority, noise: noiseHeaders })
      .map(({ b, priority, noise }) => ({ ...b, priority, headers: noise })),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({ b: badBody, priority })
      .map(({ b, priority }) => ({ ...b, kind: `${b.kind}/no-headers`, priority })),
  },
  {
    weight: 4,
    arbitrary: fc
      .record({ h: badHeader, priority, noise: noiseHeaders, n: fc.integer() })
      .map(({ h, priority, noise, n }) => ({
        kind: `header:${h[0]}`,
        priority,
        headers: [...noise, [h[0], h[1]] as [string, string]],
        body: enc.encode(JSON.stringify({ n })),
        reason: h[2],
      })),
  },
);
