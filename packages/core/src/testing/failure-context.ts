/**
 * What a failing test prints so it can be reproduced: the time of every `ManualClock` it created
 * and the last store operations the storage test helpers (`FaultyStore`, `CountingStore`,
 * `GatedStore`) saw. The repository's vitest setup (`vitest.setup.ts` at the root) turns the
 * recording on before each test (it puts the record below on `globalThis`) and prints it when
 * the test fails; outside it (the simulation CLI, benchmarks) nothing is recorded.
 *
 * It lives on `globalThis` under a registered symbol because a test may load this module twice
 * (from source in core's own tests, from `dist/` everywhere else).
 */
const KEY = Symbol.for('@s3-scheduler/core/testing failure context');
/** Store operations kept (the newest). */
const KEEP = 40;

interface FailureContext {
  clocks: Array<WeakRef<{ now(): number; monotonic(): number; readonly pendingTimers: number }>>;
  operations: string[];
  next: number;
  sequence: number;
}

function context(): FailureContext | undefined {
  return (globalThis as { [KEY]?: FailureContext })[KEY];
}

/** Called by `ManualClock`'s constructor. */
export function recordClock(clock: {
  now(): number;
  monotonic(): number;
  readonly pendingTimers: number;
}): void {
  context()?.clocks.push(new WeakRef(clock));
}

/**
 * Records one store operation: `operation` (`get`, `put`, …), the key, and what happened
 * (`ok`, a fault kind, `hung`…). Keys only, never bodies.
 */
export function recordStoreOperation(source: string, operation: string, key: string, outcome: string): void {
  const recorded = context();
  if (!recorded) return;
  recorded.operations[recorded.next] = `#${++recorded.sequence} ${source} ${operation} ${key} → ${outcome}`;
  recorded.next = (recorded.next + 1) % KEEP;
}
