// One application process: an s3db.js Database on the S3 server and the scheduler installed into it
// with db.usePlugin(), with no scheduler store option (the spec's multi-instance deployment).
// Prints one JSON line per fact for run.mjs; stops when it reads "stop" on stdin.
import { createInterface } from 'node:readline';
import { Database } from 's3db.js/lite';
import { SchedulerPlugin } from '../../packages/plugin/dist/index.js';

const [connectionString, name] = process.argv.slice(2);
const say = (fact) => process.stdout.write(`${JSON.stringify({ worker: name, at: Date.now(), ...fact })}\n`);

const db = new Database({ connectionString, logLevel: 'silent' });
await db.connect();
const scheduler = new SchedulerPlugin({
  // Short timings so the test is quick; the store comes from the database.
  heartbeatInterval: 1_000,
  coldStartObservationWindow: 2_000,
  logger: null,
  jobs: {
    tick: {
      schedule: '* * * * * *',
      // Every slot, including those of the cold start and the hand-over, must run exactly once.
      catchUp: 'all',
      action: (database, context) => {
        say({ run: context.slot, trigger: context.trigger, epoch: context.epoch, sameDb: database === db });
      },
    },
  },
});
scheduler.on('plg:scheduler:coordinator-promoted', (event) => say({ promoted: event.epoch }));
scheduler.on('plg:scheduler:coordinator-demoted', (event) => say({ demoted: event.reason }));
scheduler.on('plg:scheduler:job-buffered', (event) => say({ buffered: event.slot }));
scheduler.on('plg:scheduler:job-skipped', (event) => say({ skipped: event.slot, reason: event.reason }));
scheduler.on('plg:scheduler:error', (event) => say({ error: `${event.operation}: ${event.error.message}` }));
await db.usePlugin(scheduler);
say({ started: true });
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === 'stop') break;
}
await scheduler.stop();
await db.disconnect();
say({ stopped: true });
process.exit(0);
