export { type AuditedRun, type AuditedTerm, AuditStore } from './audit-store.js';
export { type CoverageInterval, type JobPeriod, requiredSlots } from './coverage.js';
export { BASE_JOBS, type JobSpec } from './jobs.js';
export { ProcessStore, REQUEST_DEADLINE_MS, type StoreStalls } from './process-store.js';
export { ProcessClock, SimClock } from './sim-clock.js';
export {
  FAULT_MIXES,
  type FaultMix,
  mixForSeed,
  runSimulation,
  SimulationFailure,
  type SimulationOptions,
  type SimulationReport,
} from './simulation.js';
export { formatSummary } from './summary.js';
