export { type AuditedRun, type AuditedTerm, AuditStore } from './audit-store.js';
export { type CoverageInterval, type JobPeriod, requiredSlots } from './coverage.js';
export { BASE_JOBS, type JobSpec } from './jobs.js';
export { ProcessStore } from './process-store.js';
export { ProcessClock, SimClock } from './sim-clock.js';
export {
  runSimulation,
  SimulationFailure,
  type SimulationOptions,
  type SimulationReport,
} from './simulation.js';
export { formatSummary } from './summary.js';
