import { describe, expect, it } from 'vitest';
import { LIMITS } from '@rfw/core';
import { replicationJobId } from '../src/index.js';

describe('job_processing: replication job ids', () => {
  it('are deterministic and fit the job id rules for any key', () => {
    const long = `${'x'.repeat(250)}/${'y'.repeat(250)}/${'z'.repeat(250)}/${'w'.repeat(250)}`;
    for (const id of [
      replicationJobId('bkt', long, 'v1'),
      replicationJobId('bkt', 'ünïcødé key', 'v1', 'resync-run-1'),
    ])
      expect(id).toMatch(LIMITS.idPattern);
    expect(replicationJobId('b', 'k', 'v')).toBe(replicationJobId('b', 'k', 'v'));
    expect(replicationJobId('b', 'k', 'v')).not.toBe(replicationJobId('b', 'k', 'v2'));
  });
});
