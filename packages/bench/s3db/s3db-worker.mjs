// One application process: an s3db.js 21.6.2 Database and its SchedulerPlugin with default options
// (only `jobs` given). Reports facts on fd 3 (see lib.mjs): started, role changes, runs.
import { Database } from 's3db.js/lite';
import { SchedulerPlugin } from 's3db.js/plugins/scheduler.plugin';
import { workerChannel } from './lib.mjs';

const { name, connectionString, jobs, schedule } = JSON.parse(process.argv[2]);
const say = workerChannel(name);

const db = new Database({ connectionString });
await db.connect();
const definitions = {};
for (let i = 0; i < jobs; i++) {
  const job = `job${i}`;
  definitions[job] = {
    schedule,
    action: async () => {
      // s3db passes no slot: the slot of a run is the minute it started in.
      const at = Date.now();
      say({ run: job, slot: Math.floor(at / 60_000) * 60_000 });
      return { ok: true };
    },
  };
}
const scheduler = new SchedulerPlugin({ jobs: definitions });
scheduler.on('plg:scheduler:coordinator-promoted', () => say({ role: 'promoted' }));
scheduler.on('plg:scheduler:coordinator-demoted', () => say({ role: 'demoted' }));
await db.usePlugin(scheduler);
say({ started: true, workerId: scheduler.workerId });
