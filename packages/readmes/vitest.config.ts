// Timeouts and file pattern shared by every package: see vitest.shared.ts at the root.
export { default } from '../../vitest.shared.ts';
