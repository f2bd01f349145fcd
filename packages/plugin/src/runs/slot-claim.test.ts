import { createRunId } from '@s3-scheduler/core';
import { ManualClock } from '@s3-scheduler/core/testing';
import { HistoryStore } from '@s3-scheduler/history';
import { MemoryStore } from '@s3-scheduler/storage';
import { describe, expect, it } from 'vitest';
import type { Runtime } from '../runtime.js';
import { claimRun } from './slot-claim.js';

function runtimeOf(workerId: string, history: HistoryStore, clock: ManualClock): Runtime {
  return { workerId, clock, leader: { epoch: 4 }, store: { history } } as unknown as Runtime;
}

describe('claimRun', () => {
  it('a slot is won once: the same run id again is ours, another run loses to the holder', async () => {
    const clock = new ManualClock({ now: Date.UTC(2026, 0, 1) });
    const history = new HistoryStore({ store: new MemoryStore(), clock });
    const a = runtimeOf('a', history, clock);
    const b = runtimeOf('b', history, clock);
    const slot = Date.UTC(2026, 0, 1);
    const runId = createRunId(clock.now());

    const won = await claimRun(a, { job: 'j', slot, runId, trigger: 'schedule' });
    expect(won.kind).toBe('won');
    if (won.kind !== 'won') return;
    expect(won.run.record).toMatchObject({ workerId: 'a', epoch: 4, status: 'running', runId });

    // An earlier attempt of ours won but its answer was lost: the record is ours to run.
    const again = await claimRun(a, { job: 'j', slot, runId, trigger: 'schedule' });
    expect(again).toMatchObject({ kind: 'ours', run: { record: { runId } } });

    const lost = await claimRun(b, { job: 'j', slot, runId: createRunId(clock.now()), trigger: 'schedule' });
    expect(lost).toMatchObject({ kind: 'lost', existing: { record: { workerId: 'a', runId } } });
  });

  it('a skipped slot is recorded once, and the claim of the run after it is lost', async () => {
    const clock = new ManualClock({ now: Date.UTC(2026, 0, 1) });
    const history = new HistoryStore({ store: new MemoryStore(), clock });
    const a = runtimeOf('a', history, clock);
    const slot = Date.UTC(2026, 0, 1);
    const skipped = await claimRun(a, { job: 'j', slot, trigger: 'schedule', status: 'skipped' });
    expect(skipped).toMatchObject({ kind: 'won', run: { record: { status: 'skipped' } } });
    expect((await claimRun(a, { job: 'j', slot, trigger: 'schedule' })).kind).toBe('lost');
  });
});
