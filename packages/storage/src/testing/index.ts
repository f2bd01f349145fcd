export { CountingStore, type RequestKind } from './counting-store.js';
export { type FaultKind, FaultyStore, type FaultyStoreOptions } from './faulty-store.js';
export { GatedStore } from './gated-store.js';
export { LateAnswers } from './late-answers.js';
export { RealStoreStepper } from './real-store-stepper.js';
export { RefusedWrites } from './refused-writes.js';
export {
  type S3TestEnv,
  type S3TestStoreOptions,
  s3TestBackend,
  s3TestEnv,
  s3TestStore,
  uniqueTestPrefix,
} from './s3-test-store.js';
export { UnansweredWrites } from './unanswered-writes.js';
