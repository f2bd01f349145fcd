import { SchedulerPlugin } from '@s3-scheduler/plugin';
import { PrefixedStore } from '@s3-scheduler/storage';
import { s3TestBackend } from '@s3-scheduler/storage/testing';
import { CHAOS_JOBS, type ChaosLine } from './protocol.js';

/**
 * One process of the multi-process chaos test: a `SchedulerPlugin` on the real S3 server under
 * the prefix it is given, reporting leadership and every execution on stdout, one JSON line
 * each (stdout to a pipe is synchronous on Linux, so a SIGKILL loses no reported line).
 */
const workerId = process.env.CHAOS_WORKER_ID!;
const prefix = process.env.CHAOS_PREFIX!;
const say = (line: ChaosLine) => process.stdout.write(`${JSON.stringify(line)}\n`);

// A short request deadline (CHAOS_REQUEST_TIMEOUT_MS), so a frozen server gives errors at once.
const requestTimeoutMs = process.env.CHAOS_REQUEST_TIMEOUT_MS
  ? Number(process.env.CHAOS_REQUEST_TIMEOUT_MS)
  : undefined;
const backend = await s3TestBackend(requestTimeoutMs === undefined ? {} : { requestTimeoutMs });
if (!backend) throw new Error('S3_ENDPOINT is not set');
const jobs = Object.fromEntries(
  Object.entries(CHAOS_JOBS).map(([name, schedule]) => [
    name,
    {
      schedule,
      catchUp: 'all' as const,
      catchUpWindow: 10 * 60_000,
      action: (_db: unknown, context: { slot: string | null; trigger: string; epoch: number }) => {
        say({
          type: 'exec',
          workerId,
          job: name,
          slot: context.slot,
          trigger: context.trigger,
          epoch: context.epoch,
        });
      },
    },
  ]),
);
const plugin = new SchedulerPlugin({
  store: new PrefixedStore(backend, prefix),
  workerId,
  heartbeatInterval: 2_000,
  coldStartObservationWindow: 2_000,
  logger: null,
  jobs,
});
plugin.on('plg:scheduler:coordinator-promoted', ({ epoch }) => say({ type: 'leader', workerId, epoch }));
plugin.on('plg:scheduler:coordinator-demoted', ({ epoch, reason }) =>
  say({ type: 'demoted', workerId, epoch, reason }),
);
plugin.on('plg:scheduler:error', ({ operation, error }) =>
  say({
    type: 'error',
    workerId,
    operation,
    message: error.message,
    code: (error as { code?: string }).code ?? 'other',
  }),
);
process.on('SIGTERM', () => {
  void plugin.stop().finally(() => process.exit(0));
});
await plugin.start();
say({ type: 'started', workerId });
