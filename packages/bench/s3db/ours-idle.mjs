// Idle cost of our SchedulerPlugin, measured exactly like s3db's in idle.mjs (same proxy, same
// counting): 3 processes with default options on the workspace's built packages/plugin/dist.
//
//   node ours-idle.mjs [--minutes 5] [--warmup 90] [--processes 3] [--jobs 5] [--json]
import { idleMain } from './idle.mjs';

await idleMain('ours');
