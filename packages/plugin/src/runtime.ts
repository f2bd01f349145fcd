import type { Clock } from '@s3-scheduler/core';
import type { EventHub } from './event-hub.js';
import type { SchedulerEvents } from './events.js';
import type { JobRegistry } from './jobs/job-registry.js';
import type { LeaderTerm } from './leader/leader-term.js';
import type { ResolvedPluginOptions } from './plugin-options.js';
import type { SchedulerStore } from './store/scheduler-store.js';

/**
 * What every module of one plugin instance shares: its options, clock, identity, events, jobs,
 * store and leader term, plus the two ways work reports back (`track` for work stop waits for,
 * `reportError` for failures nobody awaits). Built once by `SchedulerPlugin` and passed in.
 */
export class Runtime {
  readonly #inflight = new Set<Promise<unknown>>();
  /** The host database, passed as each action's first argument. */
  database: unknown;

  constructor(
    readonly options: ResolvedPluginOptions,
    readonly clock: Clock,
    readonly workerId: string,
    readonly events: EventHub<SchedulerEvents>,
    readonly jobs: JobRegistry,
    readonly store: SchedulerStore,
    readonly leader: LeaderTerm,
    /** The plugin, passed as each action's third argument. */
    readonly plugin: unknown,
  ) {
    this.database = options.database;
  }

  /** Keeps `work` until it settles, so `stop()` can wait for it. */
  track<T>(work: Promise<T>): Promise<T> {
    this.#inflight.add(work);
    const done = () => {
      this.#inflight.delete(work);
    };
    work.then(done, done);
    return work;
  }

  /** Waits for every tracked piece of work. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.#inflight]);
  }

  /**
   * A failure nobody awaits: the `error` event. Unheard, the observability tap logs it
   * (throttled during an outage, see observability/).
   */
  reportError(operation: string, error: unknown, jobName?: string): void {
    const asError = error instanceof Error ? error : new Error(String(error));
    this.events.emit('plg:scheduler:error', {
      operation,
      error: asError,
      ...(jobName ? { jobName } : {}),
    });
  }
}
