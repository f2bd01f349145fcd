import { Executor } from '@s3-scheduler/executor';
import { eventBase } from '../events.js';
import type { Runtime } from '../runtime.js';
import type { JobContext } from '../types.js';

/** The executor of this instance's runs; its attempt hooks become the plugin's run events. */
export function createExecutor(runtime: Runtime): Executor<JobContext> {
  const { events } = runtime;
  return new Executor<JobContext>({
    clock: runtime.clock,
    maxConcurrent: runtime.options.maxConcurrentJobs,
    onAttemptStart: ({ attempt, startedAt, context }) => {
      // Nobody listening (the default): no payload is built, at a thousand starts a second.
      if (!context || !events.wants('plg:scheduler:job-started')) return;
      events.emit('plg:scheduler:job-started', { ...eventBase(context), attempt, startTime: startedAt });
    },
    onRetry: ({ attempt, delayMs, error, context }) => {
      if (!context) return;
      events.emit('plg:scheduler:job-retry', {
        ...eventBase(context),
        attempt,
        failedAttempt: attempt - 1,
        delay: delayMs,
        error: Object.assign(new Error(error?.message ?? 'failed'), {
          name: error?.name ?? 'Error',
          code: error?.code,
        }),
      });
    },
    onTimeout: ({ attempt, timeoutMs, context }) => {
      if (!context) return;
      events.emit('plg:scheduler:job-timeout', { ...eventBase(context), attempt, timeout: timeoutMs });
    },
    onCallbackError: (error) => runtime.reportError('callback', error),
  });
}
