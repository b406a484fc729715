export { startS3TestServer } from './s3-test-server.js';
export type { S3TestServer } from './s3-test-server.js';
export { preferCjsBuilds } from './prefer-cjs-builds.js';
