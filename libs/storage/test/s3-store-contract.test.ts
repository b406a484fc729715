import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { S3ObjectStore } from '../src/index.js';
import { startS3TestServer, type S3TestServer } from '../src/testing.js';
import { describeStoreContract } from './store-contract.js';

let server: S3TestServer;

beforeAll(async () => {
  server = await startS3TestServer();
});

afterAll(async () => {
  await server.stop();
});

describeStoreContract('s3 driver (s3rver)', async (onChange) => {
  const spoolDir = await fs.mkdtemp(path.join(os.tmpdir(), 'rfw-s3-spool-'));
  const store = new S3ObjectStore({
    id: 'node-s3',
    endpoint: server.endpoint,
    region: server.region,
    credentials: server.credentials,
    forcePathStyle: true,
    spoolDir,
    onChange,
  });
  return {
    store,
    async cleanup() {
      await store.close();
      const left = await fs.readdir(spoolDir);
      await fs.rm(spoolDir, { recursive: true, force: true });
      if (left.length > 0) throw new Error(`spool files left behind: ${left.join(', ')}`);
    },
  };
});
