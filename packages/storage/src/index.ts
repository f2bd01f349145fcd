export { type ConnectOptions, connect, type OpenStoreOptions, openStore } from './connect.js';
export {
  type ConnectionSettings,
  DEFAULT_CONNECTION_STRING,
  DEFAULT_PREFIX,
  MAX_CONNECTION_STRING_LENGTH,
  type MemoryConnection,
  parseConnectionString,
  redactConnectionString,
  type S3Connection,
} from './connection-string.js';
export { CREATE_ALL_CONCURRENCY, type CreateAllOptions, createAll, createEach } from './create-all.js';
export { unquoteEtag } from './etag.js';
export { ForwardingStore, type StoreOperation } from './forwarding-store.js';
export { decodeKeySegment, encodeKeySegment } from './key-encoding.js';
export { compareKeys } from './key-order.js';
export { listAll } from './list-all.js';
export { MemoryStore, type MemoryStoreOptions } from './memory/memory-store.js';
export type {
  CreateEntry,
  CreateManyOptions,
  CreateResult,
  DeleteOptions,
  ListOptions,
  ListPage,
  ObjectInfo,
  ObjectStore,
  PutOptions,
  ReadOptions,
  StoredObject,
} from './object-store.js';
export { OBJECT_STORE_METHODS } from './object-store.js';
export {
  PluginStorage,
  type PluginStorageOptions,
  type SetOptions,
  type Versioned,
} from './plugin-storage.js';
export { PrefixedStore } from './prefixed-store.js';
export { type ProbeOptions, probeStore } from './probe.js';
export { type ReadModifyWriteOptions, readModifyWrite } from './read-modify-write.js';
export { ResolvingStore, type ResolvingStoreOptions, withResolvedOutcomes } from './resolving-store.js';
export { mapS3Error, type S3ErrorContext } from './s3/s3-errors.js';
export { type S3Credentials, S3Store, type S3StoreOptions } from './s3/s3-store.js';
export {
  isOutcomeUnknown,
  isPreconditionFailed,
  preconditionFailed,
  storeUnavailable,
} from './store-errors.js';
