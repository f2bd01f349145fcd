import { ManualClock } from '@s3-scheduler/core/testing';
import { GatedStore, RealStoreStepper, s3TestStore } from '@s3-scheduler/storage/testing';
import { describe, expect, it } from 'vitest';
import { LockClient } from './index.js';

// Real S3 server (bash scripts/s3-server.sh start); skipped without S3_ENDPOINT, a failure on CI.
const s3 = await s3TestStore({ prefix: 'lock/' });
// Every request goes to the real server, but time is the manual clock's: it moves only once the
// server has answered every request in flight, so the lease arithmetic below holds in simulated
// ms however slow the server or the machine is.
const clock = new ManualClock();
const gate = s3 && new GatedStore(s3);
const store = gate!;
const time = new RealStoreStepper(clock, () => (gate ? [gate] : []));

describe.runIf(s3)('LockClient on real S3', () => {
  it('exactly one of eight concurrent contenders wins; a release hands over with token + 1', async () => {
    const clients = Array.from({ length: 8 }, (_, i) => new LockClient({ store, clock, owner: `c${i}` }));
    const handles = await time.drive(
      Promise.all(clients.map((client) => client.acquire('contended', { leaseMs: 2000 }))),
    );
    const winners = handles.filter((handle) => handle !== null);
    expect(winners).toHaveLength(1);
    expect(winners[0]!.token).toBe(1);
    const loser = clients[handles.indexOf(null)]!;
    const waiting = loser.acquire('contended', { leaseMs: 2000, wait: 3000 });
    await time.drive(winners[0]!.release());
    expect((await time.drive(waiting))?.token).toBe(2);
  });

  it('takes over a crashed holder after lease + margin; the holder signal fired first', async () => {
    const holder = await time.drive(
      new LockClient({ store, clock, owner: 'crashed' }).acquire('crash', {
        leaseMs: 1500,
        autoRenew: false,
      }),
    );
    let lostAt = -1;
    holder!.signal.addEventListener('abort', () => {
      lostAt = clock.monotonic();
    });
    const started = clock.monotonic();
    const next = await time.drive(
      new LockClient({ store, clock, owner: 'next' }).acquire('crash', {
        leaseMs: 1500,
        wait: 5000,
      }),
    );
    const tookOverAt = clock.monotonic();
    expect(next?.token).toBe(2);
    expect(lostAt).toBeGreaterThanOrEqual(started);
    expect(lostAt).toBeLessThan(tookOverAt);
    expect(tookOverAt - started).toBeGreaterThanOrEqual(1500);
    await time.drive(next!.release());
  });
});
