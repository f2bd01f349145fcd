// Test helpers for code that runs a cluster of plugins (`@s3-scheduler/plugin/testing`).
export { type InstanceOptions, SharedBucket, type SharedBucketOptions } from './shared-bucket.js';
export { stopAll } from './stop-all.js';
