import { ManualClock } from '@s3-scheduler/core/testing';
import { MemoryStore, PrefixedStore } from '@s3-scheduler/storage';
import { GatedStore } from '@s3-scheduler/storage/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { SchedulerPlugin } from '../scheduler-plugin.js';
import { stopAll } from '../test-support/stop-all.js';
import { readRequest, submitRequest } from './request-record.js';

const START = Date.parse('2026-03-01T12:00:30Z');
const HOUR = 3_600_000;
const live: SchedulerPlugin[] = [];
let clockOfTest: ManualClock | undefined;

afterEach(() => stopAll(live, clockOfTest));

describe('operator requests across a leader crash', () => {
  it('a backfill whose leader dies mid-way is taken over by the next leader; no slot runs twice', async () => {
    const clock = new ManualClock({ now: START });
    clockOfTest = clock;
    const shared = new MemoryStore({ clock });
    const started: Array<{ slot: string; workerId: string }> = [];
    const instances: Array<{ plugin: SchedulerPlugin; store: GatedStore }> = [];
    for (const workerId of ['w0', 'w1']) {
      const store = new GatedStore(shared);
      const plugin = new SchedulerPlugin({
        store,
        clock,
        workerId,
        heartbeatInterval: 5_000,
        coldStartObservationWindow: 10_000,
        logger: null,
        jobs: {
          hourly: {
            schedule: '0 * * * *',
            catchUp: 'none',
            action: async (_db, context) => {
              started.push({ slot: context.slot!, workerId: context.workerId });
              await clock.sleep(30_000, context.signal);
            },
          },
        },
      });
      live.push(plugin);
      instances.push({ plugin, store });
    }
    await Promise.all(instances.map(({ plugin }) => plugin.start()));
    for (let i = 0; i < 60 && !instances.some(({ plugin }) => plugin.isLeader()); i++)
      await clock.advance(1_000);
    const leader = instances.find(({ plugin }) => plugin.isLeader())!;
    const survivor = instances.find((instance) => instance !== leader)!;
    const requests = new PrefixedStore(shared, 'plugin=scheduler/');
    const from = new Date(START - 10 * HOUR).toISOString();
    const to = new Date(START - HOUR).toISOString();
    const request = await submitRequest(requests, { kind: 'backfill', job: 'hourly', from, to }, clock.now());
    // The leader takes it at its next heartbeat and starts on the slots, one after the other.
    for (let i = 0; i < 120 && started.length < 3; i++) await clock.advance(1_000);
    expect((await readRequest(requests, request.id))!.request).toMatchObject({
      state: 'running',
      workerId: leader.plugin.workerId,
    });
    leader.store.kill();
    live.splice(live.indexOf(leader.plugin), 1); // a dead process is never stopped
    let state: string | undefined;
    for (let i = 0; i < 1_800 && state !== 'done'; i++) {
      await clock.advance(1_000);
      state = (await readRequest(requests, request.id))?.request.state;
    }
    const served = (await readRequest(requests, request.id))!.request;
    expect(served).toMatchObject({ state: 'done', workerId: survivor.plugin.workerId });
    expect(served.backfill!.slots).toBe(9); // 03:00 … 11:00
    expect(served.backfill!.alreadyRan).toBeGreaterThanOrEqual(2);
    const slots = started.map((run) => run.slot);
    expect(new Set(slots).size).toBe(slots.length); // none started twice
    expect(slots).toHaveLength(9); // every slot of the range started once, on one or the other
    expect(started.some((run) => run.workerId === survivor.plugin.workerId)).toBe(true);
  });
});
