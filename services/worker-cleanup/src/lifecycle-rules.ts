/**
 * Lifecycle rules: which objects expire, per bucket and key prefix. From
 * `LIFECYCLE_RULES` (JSON) or `LIFECYCLE_FILE` (a JSON file), validated.
 */
import fs from 'node:fs/promises';
import { z } from 'zod';
import { ConfigError } from '@rfw/core';
import { validateBucketName } from '@rfw/storage';

/** One rule: objects of `bucket` whose key starts with `prefix`, older than `maxAgeMs`, expire. */
export const LifecycleRule = z.strictObject({
  bucket: z.string().superRefine((b, ctx) => {
    try {
      validateBucketName(b);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  }),
  /** Key prefix; default: the whole bucket. */
  prefix: z.string().max(1024).optional(),
  /** Age (now minus the object's mtime) past which the object is deleted, ms. */
  maxAgeMs: z.number().int().positive(),
});
export type LifecycleRule = z.infer<typeof LifecycleRule>;

export const LifecycleRules = z.array(LifecycleRule).max(10_000);

/**
 * Validates rules.
 * @param source what to name in errors (`LIFECYCLE_RULES` or the file)
 * @throws ConfigError naming the offending field, e.g. `LIFECYCLE_RULES[2].maxAgeMs`
 */
export function parseLifecycleRules(input: unknown, source = 'LIFECYCLE_RULES'): LifecycleRule[] {
  const r = LifecycleRules.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = (issue?.path ?? [])
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
      .join('');
    throw new ConfigError(`${source}${where}`, issue?.message ?? 'invalid');
  }
  return r.data;
}

/**
 * Reads the rules from the environment: `LIFECYCLE_RULES` (JSON) or `LIFECYCLE_FILE`; none
 * means no lifecycle expiry (payloads with `maxAgeMs` still work).
 * @throws ConfigError when both are set, or the JSON or a rule is invalid
 */
export async function loadLifecycleRules(env: {
  LIFECYCLE_RULES?: string;
  LIFECYCLE_FILE?: string;
}): Promise<LifecycleRule[]> {
  if (env.LIFECYCLE_RULES !== undefined && env.LIFECYCLE_FILE !== undefined) {
    throw new ConfigError('LIFECYCLE_RULES', 'set LIFECYCLE_RULES or LIFECYCLE_FILE, not both');
  }
  let text: string;
  let source: string;
  if (env.LIFECYCLE_RULES !== undefined) {
    text = env.LIFECYCLE_RULES;
    source = 'LIFECYCLE_RULES';
  } else if (env.LIFECYCLE_FILE !== undefined) {
    source = env.LIFECYCLE_FILE;
    try {
      text = await fs.readFile(env.LIFECYCLE_FILE, 'utf8');
    } catch (err) {
      throw new ConfigError(
        'LIFECYCLE_FILE',
        `cannot read ${env.LIFECYCLE_FILE}: ${(err as Error).message}`,
      );
    }
  } else {
    return [];
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError(source, 'is not valid JSON');
  }
  return parseLifecycleRules(json, source);
}

/** An expiry pass to run: one bucket, an optional prefix, an age. */
export interface ExpiryTarget {
  bucket: string;
  prefix?: string;
  maxAgeMs: number;
  /** `lifecycle` for configured rules, `max-age` for a payload's `maxAgeMs`. */
  reason: 'lifecycle' | 'max-age';
}

/**
 * The rules that apply to a job: a payload `maxAgeMs` replaces the rules (for the payload's
 * bucket and prefix, or every bucket when it names none: `allBuckets` is then used); otherwise
 * the configured rules, narrowed to the payload's bucket and prefix.
 */
export function expiryTargets(
  rules: readonly LifecycleRule[],
  payload: { bucket?: string; prefix?: string; maxAgeMs?: number },
  allBuckets: readonly string[],
): ExpiryTarget[] {
  if (payload.maxAgeMs !== undefined) {
    const buckets = payload.bucket !== undefined ? [payload.bucket] : allBuckets;
    return buckets.map((bucket) => ({
      bucket,
      prefix: payload.prefix,
      maxAgeMs: payload.maxAgeMs!,
      reason: 'max-age' as const,
    }));
  }
  const out: ExpiryTarget[] = [];
  for (const rule of rules) {
    if (payload.bucket !== undefined && rule.bucket !== payload.bucket) continue;
    const a = rule.prefix ?? '';
    const b = payload.prefix ?? '';
    // The narrower of two overlapping prefixes; disjoint ones select nothing.
    let prefix: string;
    if (b.startsWith(a)) prefix = b;
    else if (a.startsWith(b)) prefix = a;
    else continue;
    out.push({
      bucket: rule.bucket,
      prefix: prefix === '' ? undefined : prefix,
      maxAgeMs: rule.maxAgeMs,
      reason: 'lifecycle',
    });
  }
  return out;
}
