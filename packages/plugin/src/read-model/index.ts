export { type Catalog, type CatalogJob, nextRunsOf, readCatalog } from './catalog.js';
export {
  ClusterReadModel,
  type ClusterStatus,
  type HistoryOptions,
  type JobDescriptionView,
  type JobStatusView,
  type JobView,
  type LeaderView,
  type ReadModelOptions,
  type RunningView,
  type WorkerView,
} from './cluster-read-model.js';
