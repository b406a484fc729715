export { makeFaultyStore, FaultKind } from './fault-injection.js';
export type {
  Fault,
  FaultManifest,
  FaultyStoreOptions,
  ManifestObject,
} from './fault-injection.js';
export { startS3TestServer } from './s3-test-server.js';
export type { S3TestServer } from './s3-test-server.js';
export { preferCjsBuilds } from './prefer-cjs-builds.js';
