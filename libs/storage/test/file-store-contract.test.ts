import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FileObjectStore } from '../src/index.js';
import { describeStoreContract } from './store-contract.js';

describeStoreContract('file driver', async (onChange) => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'rfw-file-contract-'));
  const store = new FileObjectStore({ id: 'node-a', root, onChange, fsync: false });
  return {
    store,
    async cleanup() {
      await store.close();
      await fs.rm(root, { recursive: true, force: true });
    },
  };
});
