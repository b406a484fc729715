import { describe, expect, it } from 'vitest';
import { ConfigError } from '@rfw/core';
import { expiryTargets, loadLifecycleRules, parseLifecycleRules } from '../src/index.js';

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.field;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('integration: lifecycle rules config', () => {
  it('names the offending field', async () => {
    expect(fieldOf(() => parseLifecycleRules([{ bucket: 'ok-bucket', maxAgeMs: 0 }]))).toBe(
      'LIFECYCLE_RULES[0].maxAgeMs',
    );
    expect(
      fieldOf(() =>
        parseLifecycleRules([
          { bucket: 'ok-bucket', maxAgeMs: 1 },
          { bucket: 'Bad_Bucket', maxAgeMs: 1 },
        ]),
      ),
    ).toBe('LIFECYCLE_RULES[1].bucket');
    expect(
      fieldOf(() => parseLifecycleRules([{ bucket: 'ok-bucket', maxAgeMs: 1, extra: true }])),
    ).toBe('LIFECYCLE_RULES[0]');
    expect(fieldOf(() => parseLifecycleRules({ bucket: 'x' }))).toBe('LIFECYCLE_RULES');
    await expect(
      loadLifecycleRules({ LIFECYCLE_RULES: '[', LIFECYCLE_FILE: undefined }),
    ).rejects.toMatchObject({ field: 'LIFECYCLE_RULES' });
    await expect(
      loadLifecycleRules({ LIFECYCLE_RULES: '[]', LIFECYCLE_FILE: '/x' }),
    ).rejects.toThrow(/not both/);
    await expect(
      loadLifecycleRules({ LIFECYCLE_FILE: '/nonexistent/rules.json' }),
    ).rejects.toMatchObject({ field: 'LIFECYCLE_FILE' });
    expect(await loadLifecycleRules({})).toEqual([]);
  });

  it('narrows rules to a payload bucket and prefix', () => {
    const rules = parseLifecycleRules([
      { bucket: 'logs-data', prefix: 'tmp/', maxAgeMs: 10 },
      { bucket: 'logs-data', maxAgeMs: 20 },
      { bucket: 'other-data', maxAgeMs: 30 },
    ]);
    expect(expiryTargets(rules, { bucket: 'logs-data', prefix: 'tmp/a/' }, [])).toEqual([
      { bucket: 'logs-data', prefix: 'tmp/a/', maxAgeMs: 10, reason: 'lifecycle' },
      { bucket: 'logs-data', prefix: 'tmp/a/', maxAgeMs: 20, reason: 'lifecycle' },
    ]);
    expect(expiryTargets(rules, { bucket: 'logs-data', prefix: 'var/' }, [])).toEqual([
      { bucket: 'logs-data', prefix: 'var/', maxAgeMs: 20, reason: 'lifecycle' },
    ]);
    expect(
      expiryTargets(rules, { maxAgeMs: 5 }, ['a-b', 'c-d']).map((t) => [t.bucket, t.reason]),
    ).toEqual([
      ['a-b', 'max-age'],
      ['c-d', 'max-age'],
    ]);
  });
});
