// The live view shared by `s3-scheduler watch` and the demo (`@s3-scheduler/cli/view`).
export {
  agoText,
  ansi,
  type ClusterFrame,
  type FrameEvent,
  type FrameInstance,
  type FrameJob,
  type FrameRun,
  renderFrame,
  truncate,
  visible,
} from './frame.js';
export { type StatusFrameOptions, statusEvents, statusFrame } from './status-frame.js';
export { clockTime, clockTimeMs, durationText, zoneTime } from './time-format.js';
