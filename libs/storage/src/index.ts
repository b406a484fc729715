export {
  StorageError,
  StorageErrorCode,
  InvalidBucketError,
  InvalidBucketReason,
  InvalidKeyError,
  InvalidKeyReason,
  InvalidMetadataError,
  BucketNotFoundError,
  ObjectNotFoundError,
  PreconditionFailedError,
  StorageUnavailableError,
  UnavailableReason,
  StorageFullError,
  ObjectCorruptedError,
  UploadNotFoundError,
  TopologyConfigError,
} from './errors.js';
export type { StorageErrorOptions, PreconditionKind, CorruptionKind } from './errors.js';
export { StorageDriver, VerifyStatus } from './types.js';
export type {
  ObjectInfo,
  ObjectStore,
  ListOptions,
  ListResult,
  PutOptions,
  GetOptions,
  GetResult,
  DeleteOptions,
  BucketInfo,
  Capacity,
  PingResult,
  VerifyOptions,
  VerifyResult,
  ChangeEvent,
  ChangeListener,
} from './types.js';
export {
  validateBucketName,
  validateKey,
  compareKeys,
  MAX_KEY_BYTES,
  MAX_SEGMENT_BYTES,
  MAX_USER_METADATA_BYTES,
  RESERVED_SEGMENT_PREFIX,
  RESERVED_METADATA_PREFIX,
} from './validation.js';
export {
  crc32,
  crc32Combine,
  ContentHasher,
  digestBuffer,
  DEFAULT_BLOCK_SIZE,
} from './checksum.js';
export type { ContentDigest } from './checksum.js';
export { newVersionId } from './version-id.js';
export { FileObjectStore } from './file-store.js';
export type { FileStoreOptions } from './file-store.js';
export type { TempFileInfo, PartialUploadInfo, OrphanDataInfo } from './file-maintenance.js';
export { S3ObjectStore } from './s3-store.js';
export type { S3StoreOptions } from './s3-options.js';
export { openTopology, openNode, parseTopologyConfig, loadTopologyFile } from './topology.js';
export type {
  Topology,
  TopologyConfig,
  TopologyConfigInput,
  NodeConfig,
  BucketPlacementConfig,
  OpenTopologyOptions,
} from './topology.js';
export { rendezvousReplicas, rendezvousScore } from './placement.js';
