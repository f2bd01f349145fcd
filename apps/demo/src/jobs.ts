import type { JobConfig, JobContext } from '@s3-scheduler/plugin';

/**
 * What every demo action receives as its first argument (the plugin's `database` option): a way
 * to wait that dies with its instance, and the execution recorder the duplicate check reads.
 */
export interface DemoRuntime {
  /** Waits on the instance's clock; rejects when `signal` aborts (timeout, stop). */
  work(ms: number, signal: AbortSignal): Promise<void>;
  /** Notes that this action really started, before it does anything else. */
  recordExecution(context: JobContext): Promise<void>;
}

function runtime(database: unknown): DemoRuntime {
  return database as DemoRuntime;
}

function between(min: number, max: number): number {
  return Math.round(min + Math.random() * (max - min));
}

/**
 * The jobs of the spec's examples, on seconds-field schedules so that a newcomer sees them run
 * within seconds. Each action simulates its work with a wait; the outcomes (a retry, a timeout)
 * are what the real job would do against a flaky API or a slow index.
 */
export function demoJobs(): Record<string, JobConfig> {
  return {
    cleanup_sessions: {
      schedule: '*/5 * * * * *',
      description: 'Remove expired sessions (the spec: hourly; here every 5 s)',
      retries: 2,
      timeout: 3000,
      action: async (database, context) => {
        const rt = runtime(database);
        await rt.recordExecution(context);
        await rt.work(between(150, 600), context.signal);
        return { cleaned: between(0, 40) };
      },
    },
    daily_report: {
      schedule: '*/15 * * * * *',
      timezone: 'America/New_York',
      description: 'Business report in New York time (the spec: 0 8 * * 1-5; here every 15 s)',
      timeout: 5000,
      action: async (database, context) => {
        const rt = runtime(database);
        await rt.recordExecution(context);
        await rt.work(between(300, 900), context.signal);
        return { reportFor: context.slot ?? new Date(context.startTime).toISOString() };
      },
    },
    sync_inventory: {
      schedule: '*/6 * * * * *',
      description: 'Pull stock levels from a flaky supplier API: fails half the time, retried',
      retries: 3,
      backoff: { initialMs: 300, factor: 2 },
      timeout: 2000,
      action: async (database, context) => {
        const rt = runtime(database);
        await rt.recordExecution(context);
        await rt.work(between(100, 300), context.signal);
        if (Math.random() < 0.5) throw new Error('supplier API answered 503 Service Unavailable');
        return { synced: between(10, 200) };
      },
    },
    rebuild_search_index: {
      schedule: '*/10 * * * * *',
      description: 'Rebuild the search index: slow, often exceeds its 2 s timeout',
      timeout: 2000,
      retries: 0,
      action: async (database, context) => {
        const rt = runtime(database);
        await rt.recordExecution(context);
        // Honours the signal: on timeout the wait rejects and the attempt ends at once.
        await rt.work(between(1000, 3000), context.signal);
        return { documents: between(1000, 5000) };
      },
    },
  };
}

/** Jobs the `a` key and `--add-job` add to every live instance while the cluster runs. */
export const EXTRA_JOBS: Record<string, JobConfig> = {
  send_reminders: {
    schedule: '*/4 * * * * *',
    description: 'Send reminder emails for tomorrow’s appointments (added at run time)',
    retries: 1,
    action: async (database, context) => {
      const rt = runtime(database);
      await rt.recordExecution(context);
      await rt.work(between(100, 400), context.signal);
      return { sent: between(0, 25) };
    },
  },
  refresh_exchange_rates: {
    schedule: '*/7 * * * * *',
    description: 'Refresh currency exchange rates (added at run time)',
    action: async (database, context) => {
      const rt = runtime(database);
      await rt.recordExecution(context);
      await rt.work(between(100, 300), context.signal);
      return { currencies: 32 };
    },
  },
  purge_temp_files: {
    schedule: '*/9 * * * * *',
    description: 'Delete temporary files older than a day (added at run time)',
    action: async (database, context) => {
      const rt = runtime(database);
      await rt.recordExecution(context);
      await rt.work(between(200, 500), context.signal);
      return { deleted: between(0, 100) };
    },
  },
};
