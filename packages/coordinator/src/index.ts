export { Coordinator, type CoordinatorOptions, LEADER_LOCK } from './coordinator.js';
export type { CoordinatorEvents, DemotionReason } from './events.js';
export { type WorkerRecord, workerKey } from './worker-record.js';
