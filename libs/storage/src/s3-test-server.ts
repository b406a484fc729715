import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { compareKeys } from './validation.js';

/** A running local S3-protocol server for tests (s3rver, pure JS). */
export interface S3TestServer {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  port: number;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Directory where the server keeps its objects. */
  directory: string;
  /** Stops the server and (unless a directory was given) removes its data. */
  stop(): Promise<void>;
}

/**
 * Starts s3rver on a random loopback port with a temp directory. s3rver is a devDependency of
 * `@rfw/storage`, loaded only when this is called. Set `S3RVER_DEBUG=1` to see its request log.
 * Two s3rver 3.7.1 defects are worked around (see `allowSingleDes` and `fixListingOrder`). Create clients with `forcePathStyle: true`
 * (the S3 driver's default when an endpoint is given) and destroy them before `stop()`.
 * @param options.directory keep data here (not removed on stop); default a new temp dir
 */
export async function startS3TestServer(
  options: { directory?: string } = {},
): Promise<S3TestServer> {
  const { default: S3rver } = await import('s3rver');
  const owned = options.directory === undefined;
  const directory = options.directory ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'rfw-s3rver-')));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: process.env.S3RVER_DEBUG !== '1',
    directory,
  });
  allowSingleDes();
  fixListingOrder(server);
  const address = await server.run();
  let stopped = false;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    port: address.port,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    directory,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.close();
      if (owned) await fs.rm(directory, { recursive: true, force: true });
    },
  };
}

interface ListedObject {
  key: string;
}
interface ListObjectsOptions {
  startAfter?: string;
  maxKeys?: number;
  [option: string]: unknown;
}
interface ListObjectsResult {
  objects: ListedObject[];
  commonPrefixes: string[];
  isTruncated: boolean;
}
interface ListingStore {
  listObjects(bucket: string, options: ListObjectsOptions): Promise<ListObjectsResult>;
}

/**
 * s3rver 3.7.1 lists keys in `readdir` order (hash order on ext4), not in UTF-8 byte order as
 * S3, MinIO and RustFS do, and so can also skip keys when paginating. Replace its store's
 * `listObjects` with one that lists everything matching, sorts, then applies `startAfter`
 * and `maxKeys` (O(objects) per page: fine for tests).
 */
function fixListingOrder(server: object): void {
  const store = (server as { store?: ListingStore }).store;
  if (!store) throw new Error('s3rver internals changed: no store to patch');
  const original = store.listObjects.bind(store);
  store.listObjects = async (bucket, options) => {
    const all = await original(bucket, {
      ...options,
      startAfter: '',
      maxKeys: Number.POSITIVE_INFINITY,
    });
    const startAfter = options.startAfter ?? '';
    const maxKeys = options.maxKeys ?? Number.POSITIVE_INFINITY;
    const after = all.objects
      .filter((o) => compareKeys(o.key, startAfter) > 0)
      .sort((a, b) => compareKeys(a.key, b.key));
    return {
      objects: after.slice(0, maxKeys),
      commonPrefixes: all.commonPrefixes.filter((p) => compareKeys(p, startAfter) > 0),
      isTruncated: after.length > maxKeys,
    };
  };
}

let desShimInstalled = false;

/**
 * s3rver encrypts ListObjectsV2 continuation tokens with single DES, which OpenSSL 3 (Node >= 17)
 * only offers through the legacy provider, so every truncated listing fails with HTTP 500.
 * Map `des` (DES-CBC) to 3DES-EDE-CBC with K1 = K2 = K3, which is the same cipher, for
 * this process. No other algorithm is touched.
 */
function allowSingleDes(): void {
  if (desShimInstalled) return;
  desShimInstalled = true;
  type CipherFactory = (
    algorithm: string,
    key: crypto.CipherKey,
    iv: crypto.BinaryLike | null,
  ) => unknown;
  const mutable = crypto as unknown as {
    createCipheriv: CipherFactory;
    createDecipheriv: CipherFactory;
  };
  const wrap = (original: CipherFactory): CipherFactory =>
    function desAs3des(algorithm, key, iv) {
      if (algorithm.toLowerCase() === 'des' && Buffer.isBuffer(key) && key.length === 8) {
        return original('des-ede3-cbc', Buffer.concat([key, key, key]), iv);
      }
      return original(algorithm, key, iv);
    };
  mutable.createCipheriv = wrap(mutable.createCipheriv.bind(crypto));
  mutable.createDecipheriv = wrap(mutable.createDecipheriv.bind(crypto));
}
