export { Coordinator, type CoordinatorOptions, LEADER_KEY, LEADER_LOCK } from './coordinator.js';
export type { CoordinatorEvents, DemotionReason } from './events.js';
export { WORKERS_PREFIX, type WorkerRecord, workerKey } from './worker-record.js';
