import { beforeEach } from 'vitest';

// Before each test: turn on the failure context of @s3-scheduler/core/testing (failure-context.ts
// there; shared through globalThis, as this file cannot import the workspace packages), and
// print it when the test fails: every ManualClock's time and the last store operations.
const KEY = Symbol.for('@s3-scheduler/core/testing failure context');

interface Recorded {
  clocks: Array<WeakRef<{ now(): number; monotonic(): number; readonly pendingTimers: number }>>;
  operations: string[];
  next: number;
  sequence: number;
}

beforeEach(({ task, onTestFailed }) => {
  const recorded: Recorded = { clocks: [], operations: [], next: 0, sequence: 0 };
  (globalThis as { [KEY]?: Recorded })[KEY] = recorded;
  onTestFailed(() => {
    const lines: string[] = [];
    recorded.clocks.forEach((ref, i) => {
      const clock = ref.deref();
      if (clock) {
        lines.push(
          `ManualClock #${i + 1}: now ${new Date(clock.now()).toISOString()} (${clock.now()}), monotonic ${clock.monotonic()} ms, ${clock.pendingTimers} timer(s) pending`,
        );
      }
    });
    const operations = [
      ...recorded.operations.slice(recorded.next),
      ...recorded.operations.slice(0, recorded.next),
    ];
    if (operations.length > 0) {
      lines.push(`last ${operations.length} of ${recorded.sequence} store operation(s), oldest first:`);
      lines.push(...operations.map((line) => `  ${line}`));
    }
    if (lines.length > 0) console.error(`[failure context] ${task.name}\n${lines.join('\n')}`);
  });
});
