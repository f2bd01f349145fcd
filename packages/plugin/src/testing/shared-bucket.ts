import { ManualClock } from '@s3-scheduler/core/testing';
import { MemoryStore, type ObjectStore } from '@s3-scheduler/storage';
import { SchedulerPlugin } from '../scheduler-plugin.js';
import type { SchedulerPluginOptions } from '../types.js';
import { stopAll } from './stop-all.js';

/** What every instance of a `SharedBucket` gets, unless `add()` says otherwise. */
export type InstanceOptions = Omit<SchedulerPluginOptions, 'store' | 'clock' | 'workerId'>;

export interface SharedBucketOptions {
  /** The bucket every instance shares. Default a `MemoryStore` on the cluster's clock. */
  bucket?: ObjectStore;
  /** The clock's start, ms since epoch. Default 2026-03-01T00:00:30Z. */
  start?: number;
  /**
   * The options of each instance (jobs, heartbeat, …). Defaults: `heartbeatInterval` 5,000 ms,
   * `coldStartObservationWindow` 10,000 ms, `logger: null`.
   */
  instance: (workerId: string) => InstanceOptions;
}

/**
 * Instances of one app sharing one bucket, as several processes would, on one `ManualClock`:
 * what the plugin's cluster tests, its read-model tests and the CLI's tests each need. The
 * bucket's write times follow the clock (liveness is judged from them).
 *
 * ```ts
 * const cluster = new SharedBucket({ instance: () => ({ jobs: { tick: { schedule: '* * * * *', action } } }) });
 * cluster.add('worker-0');
 * cluster.add('worker-1');
 * await cluster.start();
 * await cluster.until(() => cluster.leader() !== undefined);
 * ```
 */
export class SharedBucket {
  readonly clock: ManualClock;
  readonly bucket: ObjectStore;
  /** Every instance added and not yet stopped by `stop()`. */
  readonly plugins: SchedulerPlugin[] = [];
  /** Moves time; replace it to step a real server (`RealStoreStepper.advance`). */
  advance: (ms: number) => Promise<void>;
  /** Wraps each instance's view of the bucket (a `GatedStore` to kill or freeze one). */
  wrapStore: (store: ObjectStore, workerId: string) => ObjectStore = (store) => store;
  readonly #instance: (workerId: string) => InstanceOptions;

  constructor(options: SharedBucketOptions) {
    this.clock = new ManualClock({ now: options.start ?? Date.parse('2026-03-01T00:00:30Z') });
    this.bucket = options.bucket ?? new MemoryStore({ clock: this.clock });
    this.#instance = options.instance;
    this.advance = (ms) => this.clock.advance(ms);
  }

  /** A new instance on the bucket (not started), `overrides` over the shared options. */
  add(workerId: string, overrides: Partial<InstanceOptions> = {}): SchedulerPlugin {
    const plugin = new SchedulerPlugin({
      heartbeatInterval: 5_000,
      coldStartObservationWindow: 10_000,
      logger: null,
      ...this.#instance(workerId),
      ...overrides,
      store: this.wrapStore(this.bucket, workerId),
      clock: this.clock,
      workerId,
    });
    this.plugins.push(plugin);
    return plugin;
  }

  /** Starts every instance added and not started. */
  async start(): Promise<void> {
    await Promise.all(this.plugins.filter((plugin) => !plugin.isStarted).map((plugin) => plugin.start()));
  }

  /** The started instance that leads, if one does. */
  leader(): SchedulerPlugin | undefined {
    return this.plugins.find((plugin) => plugin.isStarted && plugin.isLeader());
  }

  /**
   * Moves time in 1 s steps until `done()`, at most `limitMs` (default 120,000) of simulated
   * time; throws when it is not done by then.
   */
  async until(done: () => boolean | Promise<boolean>, limitMs = 120_000): Promise<void> {
    for (let waited = 0; waited <= limitMs; waited += 1_000) {
      if (await done()) return;
      await this.advance(1_000);
    }
    throw new Error(`not done within ${limitMs} ms of simulated time`);
  }

  /**
   * Stops `plugins` (default every one), moving time while leaders hand over and runs drain;
   * they leave `plugins`.
   */
  async stop(plugins: SchedulerPlugin[] = [...this.plugins]): Promise<void> {
    for (const plugin of plugins) this.plugins.splice(this.plugins.indexOf(plugin), 1);
    await stopAll(plugins, this.clock, this.advance);
  }
}
