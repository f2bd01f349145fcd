import { isSchedulerError } from '@s3-scheduler/core';
import { ManualClock } from '@s3-scheduler/core/testing';
import { MemoryStore } from '@s3-scheduler/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { SchedulerPlugin } from './scheduler-plugin.js';

const START = Date.parse('2026-03-01T00:00:30Z');
const MINUTE = 60_000;
const plugins: SchedulerPlugin[] = [];

afterEach(async () => {
  await Promise.all(plugins.splice(0).map((plugin) => plugin.stop()));
});

function cluster(memory: MemoryStore, clock: ManualClock, workerId: string) {
  const runs: string[] = [];
  const errors: { code: string; key: unknown; jobName: string | undefined }[] = [];
  const plugin = new SchedulerPlugin({
    store: memory,
    clock,
    workerId,
    skipColdStart: true,
    heartbeatInterval: 5_000,
    logger: null,
    jobs: {
      alpha: { schedule: '* * * * *', action: (_db, ctx) => void runs.push(`alpha ${ctx.slot}`) },
      beta: { schedule: '* * * * *', action: (_db, ctx) => void runs.push(`beta ${ctx.slot}`) },
    },
  });
  plugin.on('plg:scheduler:error', ({ error, jobName }) =>
    errors.push({
      code: isSchedulerError(error) ? error.code : 'other',
      key: isSchedulerError(error) ? error.metadata?.key : undefined,
      jobName,
    }),
  );
  plugins.push(plugin);
  return { plugin, runs, errors };
}

const corruptions: Array<[string, string, string]> = [
  ['unparseable', 'jobs/alpha.json', '{"v":1,"name":"alp'],
  [
    'a malformed field',
    'jobs/alpha.json',
    JSON.stringify({ v: 1, name: 'alpha', buffer: 'soon', paused: 'yes' }),
  ],
  // Stored under alpha's key but naming beta: it must not pause beta.
  [
    "another job's name",
    'jobs/alpha.json',
    JSON.stringify({ v: 1, name: 'beta', paused: true, pausedNote: 'x' }),
  ],
];

describe('a corrupted job document affects only itself', () => {
  for (const [kind, key, body] of corruptions) {
    it(`${kind}: start() proceeds, it is reported with code and key, every job runs with its code config`, async () => {
      const clock = new ManualClock({ now: START });
      const memory = new MemoryStore();
      await memory.put(`plugin=scheduler/${key}`, body); // the plugin's default keyPrefix
      const { plugin, runs, errors } = cluster(memory, clock, 'w0');
      await plugin.start();
      await clock.advance(MINUTE);
      expect(errors).toContainEqual({ code: 'STORE_CORRUPTED', key, jobName: 'alpha' });
      // Reported once per version (once per bad field), not on every heartbeat.
      const reports = errors.filter((error) => error.code === 'STORE_CORRUPTED').length;
      await clock.advance(2 * MINUTE);
      expect(errors.filter((error) => error.code === 'STORE_CORRUPTED')).toHaveLength(reports);
      expect(runs.filter((run) => run.startsWith('alpha'))).toHaveLength(3);
      expect(runs.filter((run) => run.startsWith('beta'))).toHaveLength(3);
      const beta = plugin.listJobs().find((job) => job.name === 'beta');
      expect(beta).toMatchObject({ enabled: true });
      // A runtime change of the job replaces the bad document with a sound one.
      await plugin.disableJob('alpha');
      await clock.advance(2 * MINUTE);
      expect(runs.filter((run) => run.startsWith('alpha'))).toHaveLength(3);
      expect(runs.filter((run) => run.startsWith('beta'))).toHaveLength(5);
    });
  }
});
