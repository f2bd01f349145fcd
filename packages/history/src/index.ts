export type {
  ClaimInput,
  ClaimResult,
  CleanupOptions,
  CleanupResult,
  FinishInput,
  HistoryPage,
  HistoryQuery,
  HistoryStoreOptions,
  ReclaimInput,
  RunHandle,
  UpdateInput,
} from './history-store.js';
export { HistoryStore } from './history-store.js';
export { HistoryKeys, type KeyLayout, keyShardOf } from './keys.js';
export {
  FINAL_STATUSES,
  type FinalStatus,
  normalizeStatus,
  type ResultTruncation,
  RUN_STATUSES,
  RUN_TRIGGERS,
  type RunError,
  type RunRecord,
  type RunStatus,
  type RunTrigger,
} from './run-record.js';
export {
  addDelta,
  addRun,
  type CountedRun,
  deltaOfRun,
  emptyDelta,
  type JobStatistics,
  type LastError,
  type LastRun,
  mergeDelta,
  type StatsDelta,
  toStatistics,
} from './statistics.js';
export type { Instant } from './time.js';
