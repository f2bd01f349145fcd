import { ManualClock } from '@s3-scheduler/core/testing';
import type { ClusterReadModel, LeaderView } from '@s3-scheduler/plugin';
import { describe, expect, it } from 'vitest';
import { readModelSource } from './read-model-source.js';

const START = Date.parse('2026-03-02T08:00:00Z');

/** A read model whose lease reads answer `leases`, one per `cluster()` call (the last repeats). */
function sourceReading(leases: Array<Pick<LeaderView, 'workerId' | 'epoch' | 'alive'> | null>) {
  const clock = new ManualClock({ now: START });
  let read = 0;
  const model = {
    leadership: async () => {
      const lease = leases[Math.min(read++, leases.length - 1)] ?? null;
      const leader = lease
        ? {
            ...lease,
            state: 'held' as const,
            renewedAt: new Date(clock.now()).toISOString(),
            leaseMs: 15_000,
          }
        : null;
      return { leader, epoch: leader?.epoch ?? 0, workers: [], alive: leader?.alive ?? false };
    },
  } as unknown as ClusterReadModel;
  return { clock, source: readModelSource(model, { clock }) };
}

describe('readModelSource: hand-overs', () => {
  it('the first read finds who leads, which is no hand-over; a new epoch read later is one', async () => {
    const { clock, source } = sourceReading([
      { workerId: 'worker-0', epoch: 3, alive: true },
      { workerId: 'worker-0', epoch: 3, alive: true },
      { workerId: 'worker-0', epoch: 3, alive: false }, // its lease ran out: nobody leads
      { workerId: 'worker-1', epoch: 4, alive: true },
    ]);
    const first = await source.cluster();
    expect(first).toMatchObject({ leader: 'worker-0', epoch: 3, handOvers: [] });
    await clock.advance(1_000);
    expect((await source.cluster()).handOvers).toEqual([]);
    await clock.advance(1_000);
    expect(await source.cluster()).toMatchObject({ leader: null, handOvers: [] });
    await clock.advance(1_000);
    const after = await source.cluster();
    expect(after.handOvers).toEqual([
      {
        at: new Date(START + 3_000).toISOString(),
        workerId: 'worker-1',
        epoch: 4,
        previousWorkerId: 'worker-0',
      },
    ]);
    expect((await source.cluster()).handOvers).toHaveLength(1);
  });

  it('a leader elected after a first read that found none is a hand-over with no predecessor', async () => {
    const { source } = sourceReading([null, { workerId: 'worker-2', epoch: 1, alive: true }]);
    expect((await source.cluster()).handOvers).toEqual([]);
    expect((await source.cluster()).handOvers).toMatchObject([
      { workerId: 'worker-2', epoch: 1, previousWorkerId: null },
    ]);
  });
});
