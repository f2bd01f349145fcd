/** Where tests of catch-ups and drains start: 2026-03-01T00:00:00Z (epoch ms). */
export const T0 = Date.parse('2026-03-01T00:00:00Z');

/** `seconds` after `T0`, in epoch ms. */
export const at = (seconds: number): number => T0 + seconds * 1000;

/** An instant as the plugin shows slots: ISO 8601, UTC. */
export const iso = (ms: number): string => new Date(ms).toISOString();
