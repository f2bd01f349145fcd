import { SharedBucket } from '@s3-scheduler/plugin/testing';
import type { ObjectStore } from '@s3-scheduler/storage';
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
 * Instances of one app sharing a bucket (the plugin's `SharedBucket`) with three jobs whose runs
 * are recorded in `executions`; `cli()` runs the command line against the same bucket while
 * moving time, so a command that waits for the leader finds it served.
 */
export class TestCluster extends SharedBucket {
  readonly executions: Execution[];
  /** The store the CLI reads (default the bucket; a `CountingStore` to measure). */
  cliStore: ObjectStore | undefined;

  /** Default: a memory bucket whose write times follow the cluster's clock (liveness is judged from them). */
  constructor(bucket?: ObjectStore, start = START) {
    const executions: Execution[] = [];
    const record =
      (job: string) =>
      (_db: unknown, context: { slot: string | null; trigger: string; workerId: string }) => {
        executions.push({ job, slot: context.slot, trigger: context.trigger, workerId: context.workerId });
      };
    super({
      ...(bucket ? { bucket } : {}),
      start,
      instance: () => ({
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
      }),
    });
    this.executions = executions;
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
}
