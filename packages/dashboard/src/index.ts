export { type DashboardCommandOptions, type RunningDashboard, runDashboardCommand } from './command.js';
export { createDashboardHandler, type DashboardHandler, type DashboardOptions } from './handler.js';
export { pluginSource } from './plugin-source.js';
export { scheduleInWords } from './schedule-text.js';
export type {
  ActionResult,
  ClusterView,
  DashboardSource,
  HistoryPage,
  HistoryQuery,
  JobView,
  RunStatus,
  RunView,
} from './source.js';
