import { DEFAULT_LAYOUT } from '@s3-scheduler/plugin';
import { MemoryStore } from '@s3-scheduler/storage';
import { describe, expect, it } from 'vitest';
import { AuditStore } from './audit-store.js';
import { requiredSlots } from './coverage.js';
import { BASE_JOBS } from './jobs.js';
import { SimClock } from './sim-clock.js';
import { runSimulation } from './simulation.js';

const LOCK = DEFAULT_LAYOUT.inBucket(DEFAULT_LAYOUT.leaderLock);
const lock = (owner: string, token: number) =>
  JSON.stringify({
    owner,
    token,
    nonce: `${owner}${token}`,
    leaseMs: 90_000,
    state: 'held',
    acquiredAt: 0,
    renewedAt: 0,
  });

describe('simulation harness', () => {
  it('reproduces a seed exactly, alone or after another seed', async () => {
    const first = await runSimulation({ seed: 7, days: 1 });
    await runSimulation({ seed: 8, days: 1 });
    const again = await runSimulation({ seed: 7, days: 1 });
    expect(again.fingerprint).toBe(first.fingerprint);
    expect(again.slots).toEqual(first.slots);
    expect(again.faults).toEqual(first.faults);
  });

  it('the audit refuses a write of a fenced-out leader and a second claim of a slot', async () => {
    const audit = new AuditStore(new MemoryStore(), new SimClock(0));
    await audit.put(LOCK, lock('a', 1), { ifNoneMatch: '*' });
    const { etag } = await audit.put(LOCK, lock('b', 2), { ifMatch: (await audit.get(LOCK))!.etag });
    expect(audit.violations).toEqual([]);
    // A store that ignored the condition would accept the old leader's renewal: caught.
    await audit.put(LOCK, lock('a', 1), { ifMatch: etag });
    expect(audit.violations.join()).toMatch(/fenced-out leader/);
  });

  it('requires a slot that passed while nobody led once a leader is promoted within the window', () => {
    const spec = BASE_JOBS.find((job) => job.name === 'every-5m')!;
    const period = { spec, from: 0, to: undefined };
    const slot = 10 * 60_000;
    const window = { from: 0, until: 20 * 60_000, maxSkewMs: 5_000 };
    // Leader until 9 minutes, next one promoted at 12 minutes: 10:00 is caught up.
    const handOver = [
      { workerId: 'a', start: 0, end: 9 * 60_000, catchesUp: true },
      { workerId: 'b', start: 12 * 60_000, end: 30 * 60_000, catchesUp: true },
    ];
    expect(requiredSlots(period, handOver, 60_000, window)).toContain(slot);
    // Without history before the promotion the job is new and misses nothing.
    expect(requiredSlots(period, handOver, 13 * 60_000, window)).not.toContain(slot);
    // With catchUp 'none' only slots fired on time are owed.
    expect(
      requiredSlots({ ...period, spec: { ...spec, catchUp: 'none' } }, handOver, 60_000, window),
    ).not.toContain(slot);
  });
});
