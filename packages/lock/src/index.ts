export {
  type AcquireOptions,
  fenceKey,
  LockClient,
  type LockClientOptions,
  type LockInfo,
  lockKey,
} from './lock-client.js';
export { LockHandle, type LockLossReason } from './lock-handle.js';
export type { LockRecord } from './lock-record.js';
