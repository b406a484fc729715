/** Replica verdicts: the newest valid version wins, the hash quorum decides within it, ties repair nothing. */
import { describe, expect, it } from 'vitest';
import type { ObjectInfo, VerifyResult } from '@rfw/storage';
import { judge, type ReplicaScan } from '../src/index.js';

const info = (over: Partial<ObjectInfo>): ObjectInfo => ({
  bucket: 'b',
  key: 'k',
  size: 10,
  sha256: 'aa',
  blockSize: 4,
  blockCrc32: [1, 2, 3],
  mtime: 1000,
  etag: 'e',
  versionId: 'v1',
  contentType: 'application/octet-stream',
  userMetadata: {},
  ...over,
});
const scan = (node: string, status: VerifyResult['status'], i?: ObjectInfo): ReplicaScan => ({
  node,
  result: { bucket: 'b', key: 'k', status, info: i, corruptBlocks: [], deep: true },
});
const states = (scans: ReplicaScan[]) => judge(scans).replicas.map((r) => `${r.node}:${r.state}`);

describe('job_processing: healing verdicts', () => {
  it('classifies missing, corrupt and outdated replicas against the quorum', () => {
    const v = judge([
      scan('n1', 'ok', info({})),
      scan('n2', 'ok', info({})),
      scan('n3', 'ok', info({ versionId: 'v0', mtime: 500, sha256: 'old' })),
      scan('n4', 'corrupt', info({})),
      scan('n5', 'missing'),
      { node: 'n6', error: 'down' },
    ]);
    expect(v.authority).toMatchObject({ nodes: ['n1', 'n2'], info: { versionId: 'v1' } });
    expect(v.replicas.map((r) => r.state)).toEqual([
      'ok',
      'ok',
      'outdated',
      'corrupt',
      'missing',
      'unavailable',
    ]);
  });

  it('lets the newest version win over an older majority', () => {
    expect(
      states([
        scan('n1', 'ok', info({ versionId: 'v2', mtime: 2000, sha256: 'new' })),
        scan('n2', 'ok', info({})),
        scan('n3', 'ok', info({})),
      ]),
    ).toEqual(['n1:ok', 'n2:outdated', 'n3:outdated']);
  });

  it('decides content within a version by majority, and refuses a tie', () => {
    expect(
      states([
        scan('n1', 'ok', info({ sha256: 'x' })),
        scan('n2', 'ok', info({ sha256: 'y' })),
        scan('n3', 'ok', info({ sha256: 'y' })),
      ]),
    ).toEqual(['n1:corrupt', 'n2:ok', 'n3:ok']);
    const tie = judge([
      scan('n1', 'ok', info({ sha256: 'x' })),
      scan('n2', 'ok', info({ sha256: 'y' })),
    ]);
    expect(tie.authority).toBeUndefined();
    expect(tie.conflict).toMatch(/disagree/);
  });

  it('calls an object with no valid copy dangling only when every replica answered', () => {
    const all = [
      scan('n1', 'corrupt', info({})),
      scan('n2', 'size-mismatch', info({})),
      scan('n3', 'missing'),
    ];
    expect(judge(all)).toMatchObject({ dangling: true, absent: false });
    expect(judge([...all.slice(0, 2), { node: 'n3', error: 'down' }])).toMatchObject({
      dangling: false,
      absent: false,
    });
    expect(judge([scan('n1', 'missing'), scan('n2', 'missing')])).toMatchObject({
      dangling: false,
      absent: true,
    });
  });
});
