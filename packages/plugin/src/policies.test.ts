import { ManualClock } from '@s3-scheduler/core/testing';
import { ForwardingStore, MemoryStore, type StoreOperation, storeUnavailable } from '@s3-scheduler/storage';
import { GatedStore } from '@s3-scheduler/storage/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_LAYOUT } from './layout.js';
import { SchedulerPlugin } from './scheduler-plugin.js';

import { stopAll } from './test-support/stop-all.js';
import type { JobConfig, SchedulerPluginOptions } from './types.js';

const START = Date.parse('2026-03-01T00:00:30Z');
const MINUTE = 60_000;
const live: SchedulerPlugin[] = [];
let currentClock: ManualClock | undefined;

afterEach(() => stopAll(live, currentClock));

/** Loses (applies, then fails) or refuses the next write(s) of the job document on demand. */
class DocFaults extends ForwardingStore {
  lose = 0;
  refuse = 0;
  protected override async around<T>(operation: StoreOperation, key: string, request: () => Promise<T>) {
    if (operation === 'put' && key.endsWith('jobs/job.json')) {
      if (this.refuse > 0) {
        this.refuse--;
        throw storeUnavailable('put', key, { statusCode: 503 });
      }
      if (this.lose > 0) {
        this.lose--;
        await request();
        throw storeUnavailable('put', key, { reason: 'lost response' });
      }
    }
    return request();
  }
}

/** Runs of a job as the actions saw them: slot, instance, and how the run ended. */
interface Observed {
  slot: string;
  workerId: string;
  startedAt: number;
  ended?: 'completed' | 'aborted';
}

/**
 * N instances on one store and one manual clock, all with the same job. The job's action
 * lasts `durationMs` and honours its abort signal unless `ignoreAbort`.
 */
async function cluster(
  size: number,
  job: Partial<JobConfig> & { durationMs: number; ignoreAbort?: boolean },
  extra: Partial<SchedulerPluginOptions> = {},
) {
  const clock = new ManualClock({ now: START });
  currentClock = clock;
  const shared = new MemoryStore();
  const observed: Observed[] = [];
  const { durationMs, ignoreAbort, ...config } = job;
  const skipped: Array<{ worker: string; slot: string; reason: string }> = [];
  const instances: Array<{ plugin: SchedulerPlugin; store: GatedStore; faults: DocFaults }> = [];
  for (let i = 0; i < size; i++) {
    const faults = new DocFaults(shared);
    const store = new GatedStore(faults);
    const plugin = new SchedulerPlugin({
      store,
      clock,
      workerId: `w${i}`,
      heartbeatInterval: 5_000,
      skipColdStart: i === 0,
      coldStartObservationWindow: 1_000,
      logger: null,
      stopTimeout: 1_000,
      ...extra,
      jobs: {
        job: {
          schedule: '* * * * *',
          timeout: 0,
          ...config,
          action: async (_db, context) => {
            const run: Observed = { slot: context.slot!, workerId: context.workerId, startedAt: clock.now() };
            observed.push(run);
            try {
              await clock.sleep(durationMs, ignoreAbort ? undefined : context.signal);
              run.ended = 'completed';
            } catch (error) {
              run.ended = 'aborted';
              throw error;
            }
          },
        },
      },
    });
    plugin.on('plg:scheduler:job-skipped', ({ slot, reason }) => {
      skipped.push({ worker: `w${i}`, slot, reason });
    });
    live.push(plugin);
    instances.push({ plugin, store, faults });
    await plugin.start();
    await clock.advance(1);
  }
  const history = async () =>
    (await instances.at(-1)!.plugin.getJobHistory('job', { limit: 100 }))
      .map((entry) => ({ slot: entry.slot, status: entry.status, workerId: entry.workerId }))
      .reverse();
  return { clock, instances, observed, skipped, history };
}

const at = (minutes: number, seconds = 0) =>
  new Date(Date.parse('2026-03-01T00:00:00Z') + minutes * MINUTE + seconds * 1000).toISOString();

describe('overlap policies across instances', () => {
  it('skip: a slot that comes while the job runs is recorded skipped', async () => {
    const { clock, observed, history } = await cluster(3, { overlap: 'skip', durationMs: 90_000 });
    await clock.advance(3 * MINUTE);
    expect(observed.map((run) => run.slot)).toEqual([at(1), at(3)]);
    expect(await history()).toEqual([
      { slot: at(1), status: 'completed', workerId: 'w0' },
      { slot: at(2), status: 'skipped', workerId: 'w0' },
      { slot: at(3), status: 'running', workerId: 'w0' },
    ]);
  });

  it('allow: runs overlap', async () => {
    const { clock, observed } = await cluster(2, { overlap: 'allow', durationMs: 150_000 });
    await clock.advance(2 * MINUTE);
    expect(observed.map((run) => [run.slot, run.ended])).toEqual([
      [at(1), undefined],
      [at(2), undefined],
    ]);
  });

  it('buffer-one: only the newest waiting slot runs when the running one ends', async () => {
    const { clock, observed, history } = await cluster(3, { overlap: 'buffer-one', durationMs: 150_000 });
    await clock.advance(5 * MINUTE);
    // 00:01 runs until 00:03:30; 00:02 waits, then 00:03 replaces it; 00:04 waits, then 00:05 replaces it.
    expect(observed.map((run) => [run.slot, run.startedAt - START])).toEqual([
      [at(1), 30_000],
      [at(3), 180_000],
    ]);
    expect(await history()).toEqual([
      { slot: at(1), status: 'completed', workerId: 'w0' },
      { slot: at(2), status: 'skipped', workerId: 'w0' },
      { slot: at(3), status: 'running', workerId: 'w0' },
      { slot: at(4), status: 'skipped', workerId: 'w0' },
    ]);
    expect((await live[0]!.describe('job')).buffered).toEqual([at(5)]);
  });

  it('buffer-all: every waiting slot runs, in order, one after the other', async () => {
    const { clock, observed } = await cluster(3, { overlap: 'buffer-all', durationMs: 100_000 });
    await clock.advance(6 * MINUTE);
    expect(observed.map((run) => [run.slot, run.startedAt - START])).toEqual([
      [at(1), 30_000],
      [at(2), 130_000],
      [at(3), 230_000],
      [at(4), 330_000],
    ]);
  });

  it('buffer-all: a slot still buffered when the job is paused is skipped (paused), not run', async () => {
    const { clock, observed } = await cluster(1, { overlap: 'buffer-all', durationMs: 100_000 });
    const skipped: Array<{ slot: string; reason: string }> = [];
    live[0]!.on('plg:scheduler:job-skipped', ({ slot, reason }) => skipped.push({ slot, reason }));
    // 00:01 runs until 00:02:40; 00:02 comes due meanwhile and waits in the buffer.
    await clock.advanceTo(Date.parse(at(2, 10)));
    expect((await live[0]!.describe('job')).buffered).toEqual([at(2)]);
    await live[0]!.pauseJob('job', 'maintenance');
    await clock.advanceTo(Date.parse(at(2, 50)));
    expect(observed.map((run) => run.slot)).toEqual([at(1)]);
    expect(skipped).toEqual([{ slot: at(2), reason: 'paused' }]);
    expect((await live[0]!.describe('job')).buffered).toEqual([]);
    // Resumed: the next slot runs as usual.
    await live[0]!.resumeJob('job');
    await clock.advanceTo(Date.parse(at(3, 10)));
    expect(observed.map((run) => run.slot)).toEqual([at(1), at(3)]);
  });

  it('buffer-all: bufferLimit bounds the waiting slots; older ones are recorded skipped', async () => {
    const { clock, observed, history } = await cluster(1, {
      overlap: 'buffer-all',
      bufferLimit: 2,
      durationMs: 270_000,
    });
    await clock.advance(5 * MINUTE - 1_000);
    // 00:01 runs until 00:05:30; 00:02..00:05 come meanwhile; only the 2 newest wait.
    expect(observed.map((run) => run.slot)).toEqual([at(1)]);
    const described = await live[0]!.describe('job');
    expect(described.buffered).toEqual([at(4), at(5)]);
    expect(
      (await history()).filter((entry) => entry.status === 'skipped').map((entry) => entry.slot),
    ).toEqual([at(2), at(3)]);
  });

  it('cancel-other: the running run is aborted, then the new slot starts after it settled', async () => {
    const { clock, observed, history } = await cluster(2, {
      overlap: 'cancel-other',
      durationMs: 10 * MINUTE,
    });
    await clock.advance(2 * MINUTE);
    expect(observed.map((run) => [run.slot, run.ended])).toEqual([
      [at(1), 'aborted'],
      [at(2), undefined],
    ]);
    expect((await history()).slice(0, 2)).toEqual([
      { slot: at(1), status: 'cancelled', workerId: 'w0' },
      { slot: at(2), status: 'running', workerId: 'w0' },
    ]);
  });

  it('terminate-other: the new slot starts at once, even if the old run ignores its signal', async () => {
    const { clock, observed, history } = await cluster(2, {
      overlap: 'terminate-other',
      durationMs: 10 * MINUTE,
      ignoreAbort: true,
    });
    await clock.advance(2 * MINUTE);
    expect(observed.map((run) => [run.slot, run.startedAt - START])).toEqual([
      [at(1), 30_000],
      [at(2), 90_000],
    ]);
    await clock.advance(10_000);
    const entries = await history();
    expect(entries[0]).toEqual({ slot: at(1), status: 'cancelled', workerId: 'w0' });
  });

  it('a leader change in the middle of a buffered run keeps the buffer', async () => {
    const { clock, instances, observed, history } = await cluster(3, {
      overlap: 'buffer-all',
      durationMs: 5 * MINUTE,
    });
    await clock.advance(2 * MINUTE); // 00:01 runs on w0; 00:02 waits in the shared buffer
    expect(await instances[1]!.plugin.describe('job').then((d) => d.buffered)).toEqual([at(2)]);
    instances[0]!.store.kill(); // the leader dies with its run
    live.splice(live.indexOf(instances[0]!.plugin), 1);
    await clock.advance(2 * MINUTE);
    const leader = instances.find(({ plugin }) => plugin.isLeader())!;
    expect(leader.plugin.workerId).not.toBe('w0');
    expect(leader.plugin.getEpoch()).toBe(2);
    // The new leader recorded the dead leader's run abandoned and ran the buffered slot.
    const entries = await history();
    expect(entries[0]).toEqual({ slot: at(1), status: 'abandoned', workerId: 'w0' });
    expect(entries[1]).toMatchObject({ slot: at(2), workerId: leader.plugin.workerId });
    expect(observed.filter((run) => run.slot === at(2))).toHaveLength(1);
  });

  it('a leader change in the middle of a cancelled run: the waiting slot runs once, on the new leader', async () => {
    const { clock, instances, observed, history } = await cluster(3, {
      overlap: 'cancel-other',
      durationMs: 30 * MINUTE,
      ignoreAbort: true, // the run takes its time to stop after the abort
    });
    await clock.advance(90_000); // 00:01 runs on w0; at 00:02 it is asked to stop and 00:02 waits
    // Waiting in the shared buffer: stored in the job document (followers take it up once the
    // leader's lease publishes the documents' new digest, a renewal later).
    expect(await instances[0]!.plugin.describe('job').then((d) => d.buffered)).toEqual([at(2)]);
    const stored = await instances[1]!.store.get(DEFAULT_LAYOUT.inBucket(DEFAULT_LAYOUT.jobDocument('job')));
    expect(JSON.parse(new TextDecoder().decode(stored!.body)).buffer).toEqual([Date.parse(at(2))]);
    instances[0]!.store.kill(); // w0 dies before its cancelled run has settled
    live.splice(live.indexOf(instances[0]!.plugin), 1);
    await clock.advance(MINUTE);
    const leader = instances.find(({ plugin }) => plugin.isLeader())!;
    expect(leader.plugin.getEpoch()).toBe(2);
    const entries = await history();
    expect(entries[0]).toEqual({ slot: at(1), status: 'abandoned', workerId: 'w0' });
    expect(entries[1]).toMatchObject({ slot: at(2), workerId: leader.plugin.workerId });
    expect(observed.filter((run) => run.slot === at(2)).map((run) => run.workerId)).toEqual([
      leader.plugin.workerId,
    ]);
  });

  it('cancel-other reaches a run on another instance (a manual run on a follower)', async () => {
    const { clock, instances, observed } = await cluster(2, {
      overlap: 'cancel-other',
      schedule: '*/5 * * * *',
      durationMs: 30 * MINUTE,
    });
    await clock.advance(MINUTE);
    const follower = instances[1]!.plugin;
    expect(follower.isLeader()).toBe(false);
    const manual = follower.runJob('job'); // runs on w1, announced through an active marker
    await clock.advance(4 * MINUTE); // 00:05: the leader w0 asks w1 to cancel, then runs 00:05
    await clock.advance(10_000);
    const outcome = await manual;
    expect(outcome.status).toBe('cancelled');
    expect(observed.map((run) => [run.workerId, run.ended])).toEqual([
      ['w1', 'aborted'],
      ['w0', undefined],
    ]);
    expect(observed[1]!.slot).toBe(at(5));
  });
});

// 00:01 runs 102 s, until 00:02:42 (between the leader's heartbeats at 00:02:40 and 00:02:45);
// 00:02 waits in the buffer meanwhile.
describe('a buffer drained while the job is paused', () => {
  it('leader resumes before the run ends: the buffered slot runs', async () => {
    const { clock, observed, skipped } = await cluster(2, { overlap: 'buffer-all', durationMs: 102_000 });
    await clock.advanceTo(Date.parse(at(2, 10)));
    await live[0]!.pauseJob('job');
    await clock.advanceTo(Date.parse(at(2, 30)));
    await live[0]!.resumeJob('job');
    await clock.advanceTo(Date.parse(at(2, 50)));
    expect(observed.map((run) => run.slot)).toEqual([at(1), at(2)]);
    expect(skipped.filter((s) => s.reason === 'paused')).toEqual([]);
  });

  // The leader's own copy of the document still says paused (its next heartbeat is 00:02:45): the
  // drain decides on the document as stored, in the write that takes the slot out.
  it('resumed on another instance shortly before the run ends: the buffered slot runs, not skipped', async () => {
    const { clock, observed, skipped } = await cluster(2, { overlap: 'buffer-all', durationMs: 102_000 });
    await clock.advanceTo(Date.parse(at(2, 10)));
    await live[0]!.pauseJob('job');
    await clock.advanceTo(Date.parse(at(2, 41)));
    // The job document says resumed from here on; the leader reads it at its next heartbeat.
    await live[1]!.resumeJob('job');
    await clock.advanceTo(Date.parse(at(2, 50)));
    expect(skipped.filter((s) => s.reason === 'paused')).toEqual([]);
    expect(observed.map((run) => run.slot)).toEqual([at(1), at(2)]);
  });

  // The leader's copy still says resumed: the take's own write sees the pause.
  it('paused on another instance shortly before the run ends: the buffered slot does not run', async () => {
    const { clock, observed, skipped } = await cluster(2, { overlap: 'buffer-all', durationMs: 102_000 });
    await clock.advanceTo(Date.parse(at(2, 41)));
    await live[1]!.pauseJob('job');
    await clock.advanceTo(Date.parse(at(2, 50)));
    expect(observed.map((run) => run.slot)).toEqual([at(1)]);
    expect(skipped).toContainEqual({ worker: 'w0', slot: at(2), reason: 'paused' });
  });

  it('the take refused (503) while paused: the slot stays buffered, then is skipped at a heartbeat', async () => {
    const { clock, instances, observed, skipped } = await cluster(2, {
      overlap: 'buffer-all',
      durationMs: 102_000,
    });
    await clock.advanceTo(Date.parse(at(2, 10)));
    await live[0]!.pauseJob('job');
    await clock.advanceTo(Date.parse(at(2, 41)));
    instances[0]!.faults.refuse = 50;
    await clock.advanceTo(Date.parse(at(2, 43)));
    expect((await live[0]!.describe('job')).buffered).toEqual([at(2)]);
    expect(skipped).toEqual([]);
    // The store answers again (the store layer's retries of the refused write are jittered).
    instances[0]!.faults.refuse = 0;
    await clock.advanceTo(Date.parse(at(2, 55)));
    expect(observed.map((run) => run.slot)).toEqual([at(1)]);
    expect(skipped).toEqual([{ worker: 'w0', slot: at(2), reason: 'paused' }]);
    expect((await live[0]!.describe('job')).buffered).toEqual([]);
  });

  it('the take applied but its answer lost: the slot is still reported (skipped paused)', async () => {
    const { clock, instances, observed, skipped } = await cluster(2, {
      overlap: 'buffer-all',
      durationMs: 102_000,
    });
    await clock.advanceTo(Date.parse(at(2, 10)));
    await live[0]!.pauseJob('job');
    await clock.advanceTo(Date.parse(at(2, 41)));
    instances[0]!.faults.lose = 1;
    await clock.advanceTo(Date.parse(at(3, 0)) - 1);
    expect(observed.map((run) => run.slot)).toEqual([at(1)]);
    expect((await live[0]!.describe('job')).buffered).toEqual([]);
    // Neither run nor reported: lost silently, unless this holds.
    expect(skipped).toEqual([{ worker: 'w0', slot: at(2), reason: 'paused' }]);
  });

  it('buffer-all, several slots: all skipped once, none run, while paused', async () => {
    const { clock, observed, skipped } = await cluster(2, { overlap: 'buffer-all', durationMs: 222_000 });
    // 00:01 runs until 00:04:42; 00:02, 00:03, 00:04 wait.
    await clock.advanceTo(Date.parse(at(4, 10)));
    expect((await live[0]!.describe('job')).buffered).toEqual([at(2), at(3), at(4)]);
    await live[0]!.pauseJob('job');
    await clock.advanceTo(Date.parse(at(5, 30)));
    expect(observed.map((run) => run.slot)).toEqual([at(1)]);
    expect(skipped).toEqual([
      { worker: 'w0', slot: at(2), reason: 'paused' },
      { worker: 'w0', slot: at(3), reason: 'paused' },
      { worker: 'w0', slot: at(4), reason: 'paused' },
    ]);
    expect((await live[0]!.describe('job')).buffered).toEqual([]);
  });

  it('buffer-one: the one waiting slot is skipped paused', async () => {
    const { clock, observed, skipped } = await cluster(2, { overlap: 'buffer-one', durationMs: 162_000 });
    await clock.advanceTo(Date.parse(at(3, 10)));
    expect((await live[0]!.describe('job')).buffered).toEqual([at(3)]);
    await live[0]!.pauseJob('job');
    await clock.advanceTo(Date.parse(at(3, 50)));
    expect(observed.map((run) => run.slot)).toEqual([at(1)]);
    expect(skipped.filter((s) => s.reason === 'paused')).toEqual([
      { worker: 'w0', slot: at(3), reason: 'paused' },
    ]);
  });

  it('cancel-other with a run that ignores its abort: a slot buffered before the pause is skipped', async () => {
    const { clock, observed, skipped } = await cluster(2, {
      overlap: 'cancel-other',
      durationMs: 102_000,
      ignoreAbort: true,
    });
    await clock.advanceTo(Date.parse(at(2, 1)));
    const buffered = (await live[0]!.describe('job')).buffered;
    await live[0]!.pauseJob('job');
    await clock.advanceTo(Date.parse(at(2, 50)));
    expect(observed.map((run) => run.slot)).toEqual([at(1)]);
    expect(skipped.filter((s) => s.reason === 'paused').map((s) => s.slot)).toEqual(buffered);
  });

  it('leader dies with a buffered slot, job resumed before the new leader drains: the slot runs once', async () => {
    const { clock, instances, observed, skipped } = await cluster(2, {
      overlap: 'buffer-all',
      durationMs: 102_000,
    });
    await clock.advanceTo(Date.parse(at(2, 10)));
    await live[0]!.pauseJob('job');
    instances[0]!.store.kill();
    live.splice(live.indexOf(instances[0]!.plugin), 1); // a dead process is never stopped
    await clock.advanceTo(Date.parse(at(2, 12)));
    await instances[1]!.plugin.resumeJob('job');
    await clock.advanceTo(Date.parse(at(4, 30)));
    expect(skipped.filter((s) => s.reason === 'paused')).toEqual([]);
    expect(observed.filter((run) => run.slot === at(2)).length).toBe(1);
  });

  it('leader dies with a buffered slot (not paused): the slot runs exactly once on the new leader', async () => {
    const { clock, instances, observed, skipped } = await cluster(2, {
      overlap: 'buffer-all',
      durationMs: 102_000,
    });
    await clock.advanceTo(Date.parse(at(2, 10)));
    instances[0]!.store.kill();
    live.splice(live.indexOf(instances[0]!.plugin), 1); // a dead process is never stopped
    await clock.advanceTo(Date.parse(at(4, 50)));
    expect(skipped).toEqual([]);
    expect(observed.filter((run) => run.slot === at(2) && run.workerId === 'w1').length).toBe(1);
  });
});
