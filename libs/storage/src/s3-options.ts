import type { S3Client } from '@aws-sdk/client-s3';
import type { ChangeListener } from './types.js';

/** Options of {@link S3ObjectStore}. */
export interface S3StoreOptions {
  /** Node id. */
  id: string;
  /** Endpoint URL, e.g. `http://127.0.0.1:9000` for RustFS / MinIO; AWS when omitted. */
  endpoint?: string;
  /** Default `us-east-1`. */
  region?: string;
  /** Static credentials; the SDK's default provider chain when omitted. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Path-style URLs (`endpoint/bucket/key`); needed by most self-hosted servers. Default `true` when `endpoint` is set. */
  forcePathStyle?: boolean;
  /** Base bytes per CRC32 block; doubled per object until at most 96 blocks remain. Default 1 MiB. */
  blockSize?: number;
  /** Where stream bodies are spooled while hashing (S3 metadata must be sent before the body). Default `os.tmpdir()`. */
  spoolDir?: string;
  /** Objects larger than this are uploaded in parts (`@aws-sdk/lib-storage`). Default 16 MiB. */
  multipartThreshold?: number;
  /** Part size of multipart uploads, at least 5 MiB. Default 8 MiB. */
  partSize?: number;
  /** Reported as `capacity().totalBytes`; S3 has no capacity API. Default `Number.MAX_SAFE_INTEGER` (unbounded). */
  quotaBytes?: number;
  /** SDK attempts per request (network errors, 5xx). Default 3. */
  maxAttempts?: number;
  /**
   * SDK flexible checksums. Default `WHEN_REQUIRED`: rfw checks SHA-256 end to end itself, and
   * older S3-compatible servers reject the aws-chunked trailers `WHEN_SUPPORTED` sends.
   */
  checksums?: 'WHEN_REQUIRED' | 'WHEN_SUPPORTED';
  /** Use this client instead of building one (then `close()` does not destroy it). */
  client?: S3Client;
  /** Called after each successful put / delete. */
  onChange?: ChangeListener;
}
