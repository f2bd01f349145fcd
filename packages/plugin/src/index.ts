export { isSchedulerError, SchedulerError, type SchedulerErrorCode } from '@s3-scheduler/core';
export { MemoryStore, type ObjectStore } from '@s3-scheduler/storage';
export type { RunEventBase, SchedulerEventName, SchedulerEvents } from './events.js';
export type { HistoryEntry } from './jobs/history-entry.js';
export { JOB_LIMITS } from './jobs/job-options.js';
export type { JobStatus } from './jobs/job-state.js';
export type { JobStatusStatistics, SchedulerJobStatistics } from './jobs/job-statistics.js';
export {
  DEFAULT_HISTORY_RESOURCE,
  DEFAULT_KEY_PREFIX,
  DEFAULT_LAYOUT,
  type SchedulerLayout,
  schedulerLayout,
} from './layout.js';
export type {
  TelemetryMeter,
  TelemetryOption,
  TelemetrySpan,
  TelemetryTracer,
} from './observability/telemetry.js';
export { PLUGIN_LIMITS } from './plugin-options.js';
export * from './read-model/index.js';
export * from './requests/index.js';
export { SchedulerPlugin } from './scheduler-plugin.js';
export type {
  BackfillResult,
  JobAction,
  JobConfig,
  JobContext,
  JobDescription,
  OverlapPolicy,
  PluginLogger,
  RunJobResult,
  RunTrigger,
  SchedulerPluginOptions,
} from './types.js';
export { METHOD_LIMITS } from './validate.js';
