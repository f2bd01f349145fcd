/**
 * Exponential back-off without jitter, in ms: `min(maxMs, initialMs × factor^(attempt − 1))`,
 * `attempt` 1-based (the wait after the first failure is `initialMs`). A factor power that
 * overflows to `Infinity` is capped like any other. Callers add jitter when they want it.
 */
export function exponentialBackoff(
  attempt: number,
  options: { initialMs: number; maxMs: number; factor?: number },
): number {
  const { initialMs, maxMs, factor = 2 } = options;
  if (initialMs === 0) return 0;
  return Math.min(maxMs, initialMs * factor ** (attempt - 1));
}
