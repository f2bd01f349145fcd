// The storage contract as vitest tests, apart from `./testing` so that importing the test helpers
// never needs vitest (an optional peer dependency, needed only here).
export { type ConformanceOptions, describeObjectStoreConformance } from './object-store-conformance.js';
