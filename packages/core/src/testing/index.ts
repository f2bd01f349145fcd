export { recordClock, recordStoreOperation } from './failure-context.js';
export { ManualClock, type ManualClockOptions } from './manual-clock.js';
export { SkewedClock } from './skewed-clock.js';
