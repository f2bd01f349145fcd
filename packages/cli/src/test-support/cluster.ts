import { ManualClock } from '@s3-scheduler/core/testing';
import { SchedulerPlugin } from '@s3-scheduler/plugin';
import { MemoryStore, type ObjectStore } from '@s3-scheduler/storage';
import { type CliIo, runCli } from '../cli.js';

export const START = Date.parse('2026-03-01T00:00:30Z');
export const MINUTE = 60_000;

export interface Execution {
  job: string;
  slot: string | null;
  trigger: string;
  workerId: string;
}

/**
 * Instances of one app sharing a bucket, as several processes would, on a manual clock; `cli()`
 * runs the command line against the same bucket while moving time, so a command that waits for
 * the leader finds it served.
 */
export class TestCluster {
  readonly clock: ManualClock;
  readonly executions: Execution[] = [];
  readonly plugins: SchedulerPlugin[] = [];
  /** `advance(ms)` moves time; on a real server, in steps once the server has answered. */
  advance: (ms: number) => Promise<void> = (ms) => this.clock.advance(ms);

  readonly bucket: ObjectStore;

  /** Default: a memory bucket whose write times follow the cluster's clock (liveness is judged from them). */
  constructor(bucket?: ObjectStore, start = START) {
    this.clock = new ManualClock({ now: start });
    this.bucket = bucket ?? new MemoryStore({ clock: this.clock });
  }

  /** The store the CLI reads (default the bucket; a `CountingStore` to measure). */
  cliStore: ObjectStore | undefined;

  /** Wraps each instance's store (a `GatedStore` on a real server). */
  wrapStore: (store: ObjectStore) => ObjectStore = (store) => store;

  add(workerId: string): SchedulerPlugin {
    const record =
      (job: string) =>
      (_db: unknown, context: { slot: string | null; trigger: string; workerId: string }) => {
        this.executions.push({
          job,
          slot: context.slot,
          trigger: context.trigger,
          workerId: context.workerId,
        });
      };
    const plugin = new SchedulerPlugin({
      store: this.wrapStore(this.bucket),
      clock: this.clock,
      workerId,
      heartbeatInterval: 5_000,
      coldStartObservationWindow: 10_000,
      logger: null,
      jobs: {
        minutely: {
          schedule: '* * * * *',
          catchUp: 'none',
          description: 'every minute',
          action: record('minutely'),
        },
        nightly: { schedule: '0 3 * * *', timezone: 'Europe/Paris', action: record('nightly') },
        adhoc: { schedule: null, action: record('adhoc') },
      },
    });
    this.plugins.push(plugin);
    return plugin;
  }

  leader(): SchedulerPlugin | undefined {
    return this.plugins.find((plugin) => plugin.isStarted && plugin.isLeader());
  }

  /** Moves time in 1 s steps until `done()`, at most `limitMs` of simulated time. */
  async until(done: () => boolean | Promise<boolean>, limitMs = 120_000): Promise<void> {
    for (let waited = 0; waited <= limitMs; waited += 1_000) {
      if (await done()) return;
      await this.advance(1_000);
    }
    throw new Error(`not done within ${limitMs} ms of simulated time`);
  }

  /** Runs the CLI in-process on this bucket, moving time until it exits. */
  // biome-ignore lint/suspicious/noExplicitAny: the JSON a command printed, read field by field by tests
  async cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string; json: any }> {
    let stdout = '';
    let stderr = '';
    const io: CliIo = {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      env: {},
      store: this.cliStore ?? this.bucket,
      clock: this.clock,
    };
    let code: number | undefined;
    const running = runCli(['--key-prefix', 'plugin=scheduler/', ...argv], io).then((exit) => {
      code = exit;
    });
    await this.until(() => code !== undefined, 30 * MINUTE);
    await running;
    let json: unknown;
    if (argv.includes('--json') && argv[0] !== 'watch') json = JSON.parse(stdout);
    return { code: code!, stdout, stderr, json };
  }

  /** Stops every instance, moving time while leaders hand over and runs drain. */
  async stop(plugins: SchedulerPlugin[] = this.plugins): Promise<void> {
    let done = false;
    const stopping = Promise.all(plugins.map((plugin) => plugin.stop())).then(() => {
      done = true;
    });
    for (let i = 0; i < 120 && !done; i++) await this.advance(1_000);
    await stopping;
  }
}
