// One application process: our SchedulerPlugin (the workspace's built packages/plugin/dist) with
// default options (only `connectionString` and `jobs` given). Reports facts on fd 3 (see lib.mjs).
import { SchedulerPlugin } from '../../plugin/dist/index.js';
import { workerChannel } from './lib.mjs';

const { name, connectionString, jobs, schedule } = JSON.parse(process.argv[2]);
const say = workerChannel(name);

const definitions = {};
for (let i = 0; i < jobs; i++) {
  const job = `job${i}`;
  definitions[job] = {
    schedule,
    action: async (_db, context) => {
      say({ run: job, slot: Date.parse(context.slot), trigger: context.trigger });
      return { ok: true };
    },
  };
}
const scheduler = new SchedulerPlugin({ connectionString, jobs: definitions });
scheduler.on('plg:scheduler:coordinator-promoted', () => say({ role: 'promoted' }));
scheduler.on('plg:scheduler:coordinator-demoted', () => say({ role: 'demoted' }));
scheduler.on('plg:scheduler:error', (event) => say({ error: `${event.operation}: ${event.error?.message}` }));
await scheduler.start();
say({ started: true });
