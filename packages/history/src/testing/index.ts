export { type SeedHistoryOptions, seedHistory } from './seed-history.js';
