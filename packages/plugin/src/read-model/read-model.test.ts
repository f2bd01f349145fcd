import { CountingStore } from '@s3-scheduler/storage/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { readRequest, submitRequest } from '../requests/request-record.js';
import { SharedBucket } from '../testing/index.js';
import { ClusterReadModel } from './cluster-read-model.js';

const START = Date.parse('2026-03-01T00:00:30Z');
const MINUTE = 60_000;
/** The cluster of the test running now, stopped after it. */
let current: SharedBucket | undefined;

afterEach(async () => {
  await current?.stop();
  current = undefined;
});

function cluster(size: number, ids = ['worker-0', 'worker-1', 'worker-2']) {
  const executions: Array<{ job: string; slot: string | null; trigger: string; workerId: string }> = [];
  const shared = new SharedBucket({
    start: START,
    instance: () => ({
      jobs: {
        minutely: {
          schedule: '* * * * *',
          catchUp: 'none',
          action: (_db, context) => {
            executions.push({
              job: 'minutely',
              slot: context.slot,
              trigger: context.trigger,
              workerId: context.workerId,
            });
          },
        },
        'manual only': { schedule: null, action: () => 'done' },
      },
    }),
  });
  current = shared;
  const make = (workerId: string) => shared.add(workerId);
  const instances = ids.slice(0, size).map(make);
  const { clock, bucket } = shared;
  const model = new ClusterReadModel(bucket, { keyPrefix: 'plugin=scheduler/', clock });
  return { clock, bucket, instances, executions, model, make, shared };
}

describe('ClusterReadModel', () => {
  it('status agrees with the running cluster: leader, epoch, workers, jobs, next runs, last status', async () => {
    const { clock, instances, model } = cluster(3);
    await Promise.all(instances.map((plugin) => plugin.start()));
    await current!.until(() => instances.some((plugin) => plugin.isLeader()));
    await clock.advance(2 * MINUTE);
    const leader = instances.find((plugin) => plugin.isLeader())!;
    const status = await model.status();
    expect(status.leader?.workerId).toBe(leader.workerId);
    expect(status.leader?.alive).toBe(true);
    expect(status.epoch).toBe(leader.getEpoch());
    expect(status.alive).toBe(true);
    expect(status.workers.filter((worker) => worker.alive).map((worker) => worker.workerId)).toEqual([
      'worker-0',
      'worker-1',
      'worker-2',
    ]);
    expect(status.totalJobs).toBe(2);
    const minutely = status.jobs.find((job) => job.name === 'minutely')!;
    expect(minutely.schedule).toBe('* * * * *');
    expect(minutely.timezone).toBe('UTC');
    expect(minutely.nextRuns[0]?.fireAt).toBe(leader.getJobStatus('minutely')!.nextRun);
    expect(minutely.lastRun?.status).toBe('completed');
    expect(status.jobs.find((job) => job.name === 'manual only')?.nextRuns).toEqual([]);
    // The runs status read, newest first: what `watch` and the demo list as the latest runs.
    const history = (await leader.getJobHistory('minutely', { limit: 4 })).map((run) => run.id);
    expect(status.recentRuns.map((run) => run.id)).toEqual(history.slice(0, 2));
    const more = await model.status({ runsPerJob: 4 });
    expect(more.recentRuns.map((run) => run.id)).toEqual(history);
    const recent = await model.recentRuns(['minutely', 'manual only'], { perJob: 3, limit: 2 });
    expect(recent.map((run) => run.id)).toEqual(history.slice(0, 2));
    // describe()'s policies and the published catalog come from one list (policiesOf).
    const { policies } = await leader.describe('minutely');
    const { definition } = await model.describe('minutely');
    const { startAt, endAt, ...shared } = policies;
    expect(Object.keys(shared)).toHaveLength(10);
    expect(definition).toMatchObject(shared);
    expect([startAt, endAt, definition?.startAt, definition?.endAt]).toEqual([null, null, null, null]);
  });

  it('pause and resume through the bucket take effect on every instance', async () => {
    const { clock, instances, model, executions } = cluster(2);
    await Promise.all(instances.map((plugin) => plugin.start()));
    await current!.until(() => instances.some((plugin) => plugin.isLeader()));
    await model.pause('minutely', 'maintenance window');
    await current!.until(() => instances.every((plugin) => plugin.getJobStatus('minutely')!.paused));
    expect((await model.job('minutely')).pausedNote).toBe('maintenance window');
    const before = executions.length;
    await clock.advance(3 * MINUTE);
    expect(executions.length).toBe(before);
    await model.resume('minutely');
    await current!.until(() => instances.every((plugin) => !plugin.getJobStatus('minutely')!.paused));
    await clock.advance(2 * MINUTE);
    expect(executions.length).toBeGreaterThan(before);
    expect((await model.job('minutely')).paused).toBe(false);
  });

  it('a trigger request runs exactly once, on the leader, recorded as manual; an unknown job fails visibly', async () => {
    const { clock, instances, model, executions, bucket } = cluster(3);
    await Promise.all(instances.map((plugin) => plugin.start()));
    await current!.until(() => instances.some((plugin) => plugin.isLeader()));
    const store = model.store;
    const request = await submitRequest(store, { kind: 'trigger', job: 'minutely' }, clock.now());
    const unknown = await submitRequest(store, { kind: 'trigger', job: 'nope' }, clock.now());
    await current!.until(async () => (await readRequest(store, request.id))?.request.state === 'done');
    const served = (await readRequest(store, request.id))!.request;
    const leader = instances.find((plugin) => plugin.isLeader())!;
    expect(served.workerId).toBe(leader.workerId);
    const manual = executions.filter((run) => run.trigger === 'manual');
    expect(manual).toEqual([{ job: 'minutely', slot: null, trigger: 'manual', workerId: leader.workerId }]);
    const runs = await model.runs('minutely', { limit: 50 });
    expect(runs.runs.filter((run) => run.trigger === 'manual').map((run) => run.id)).toEqual([
      served.run!.runId,
    ]);
    await current!.until(async () => (await readRequest(store, unknown.id))?.request.state === 'failed');
    expect((await readRequest(store, unknown.id))!.request.error?.code).toBe('JOB_NOT_FOUND');
    // Nobody collects them: the leader deletes finished requests after an hour.
    await clock.advance(61 * MINUTE);
    await current!.until(async () => (await readRequest(store, unknown.id)) === null);
    expect(bucket).toBeDefined();
  });

  it('a backfill request runs exactly the missing slots, recorded as backfill', async () => {
    const { clock, instances, model, executions } = cluster(2);
    await Promise.all(instances.map((plugin) => plugin.start()));
    await current!.until(() => instances.some((plugin) => plugin.isLeader()));
    await clock.advance(3 * MINUTE);
    await model.pause('minutely', 'gap');
    await current!.until(() => instances.every((plugin) => plugin.getJobStatus('minutely')!.paused));
    await clock.advance(3 * MINUTE);
    await model.resume('minutely');
    await current!.until(() => instances.every((plugin) => !plugin.getJobStatus('minutely')!.paused));
    await clock.advance(MINUTE);
    const from = new Date(START).toISOString();
    const to = new Date(clock.now() - MINUTE).toISOString();
    const ranBefore = new Set(executions.map((run) => run.slot));
    const request = await submitRequest(
      model.store,
      { kind: 'backfill', job: 'minutely', from, to },
      clock.now(),
    );
    await current!.until(async () => (await readRequest(model.store, request.id))?.request.state === 'done');
    const served = (await readRequest(model.store, request.id))!.request;
    const backfilled = executions.filter((run) => run.trigger === 'backfill').map((run) => run.slot);
    expect(backfilled.length).toBeGreaterThan(0);
    expect(backfilled.every((slot) => !ranBefore.has(slot))).toBe(true);
    expect(served.backfill!.ran).toBe(backfilled.length);
    expect(served.backfill!.alreadyRan + served.backfill!.ran).toBe(served.backfill!.slots);
    // Every slot in the range ran exactly once.
    const bySlot = new Map<string, number>();
    for (const run of executions) if (run.slot) bySlot.set(run.slot, (bySlot.get(run.slot) ?? 0) + 1);
    expect([...bySlot.values()].every((count) => count === 1)).toBe(true);
  });

  it('a request written while no instance runs is served by the next leader', async () => {
    const { clock, instances, model, executions, make, shared } = cluster(1);
    await instances[0]!.start();
    await current!.until(() => instances[0]!.isLeader());
    await shared.stop();
    expect((await model.leadership()).alive).toBe(false);
    const request = await submitRequest(model.store, { kind: 'trigger', job: 'manual only' }, clock.now());
    const next = make('worker-1');
    await next.start();
    await current!.until(async () => (await readRequest(model.store, request.id))?.request.state === 'done');
    expect((await readRequest(model.store, request.id))!.request.workerId).toBe('worker-1');
    expect(executions).toEqual([]);
  });

  it('status costs a bounded number of requests with 1,000 jobs and months of history', async () => {
    const jobs: Record<string, { schedule: string; action: () => void }> = {};
    for (let i = 0; i < 1_000; i++)
      jobs[`job-${String(i).padStart(4, '0')}`] = { schedule: '0 * * * *', action: () => {} };
    current = new SharedBucket({ start: START, instance: () => ({ jobs }) });
    const { clock, bucket } = current;
    const plugin = current.add('worker-0');
    await plugin.start();
    await current!.until(() => plugin.isLeader());
    await clock.advance(10_000);
    // Months of history for a few jobs: runs every hour for 90 days.
    const model = new ClusterReadModel(bucket, { keyPrefix: 'plugin=scheduler/', clock });
    for (let hour = 0; hour < 90 * 24; hour++) {
      const slot = START - (hour + 1) * 60 * MINUTE;
      for (const job of ['job-0000', 'job-0001']) {
        const claim = await model.history.claim({
          job,
          slot,
          workerId: 'worker-0',
          epoch: 1,
          startedAt: slot,
        });
        if (claim.claimed)
          await model.history.finish(claim.run, { status: 'completed', finishedAt: slot + 1000 });
      }
    }
    const counting = new CountingStore(bucket);
    const counted = new ClusterReadModel(counting, { keyPrefix: 'plugin=scheduler/', clock });
    const status = await counted.status();
    expect(status.totalJobs).toBe(1_000);
    expect(status.jobs).toHaveLength(20);
    // 1 lease + 1 workers list + 1 catalog + 1 jobs list + 1 active list + 20 × (1 list + ≤ 2 gets).
    expect(counting.total).toBeLessThanOrEqual(65);
    console.log(`status requests with 1,000 jobs: ${JSON.stringify(counting.snapshot())}`);
    counting.reset();
    await counted.runs('job-0000', { limit: 20, status: 'completed' });
    expect(counting.total).toBeLessThanOrEqual(21);
    console.log(`history --limit 20 --status completed requests: ${JSON.stringify(counting.snapshot())}`);
  }, 300_000);
});
