import { SystemClock } from '@s3-scheduler/core';
import { s3TestStore } from '@s3-scheduler/storage/testing';
import { describe, expect, it } from 'vitest';
import { LockClient } from './index.js';

// Real S3 server (bash scripts/s3-server.sh start); skipped without S3_ENDPOINT, a failure on CI.
const store = await s3TestStore({ prefix: 'lock/' });
const clock = new SystemClock();

describe.runIf(store)('LockClient on real S3', () => {
  it('exactly one of eight concurrent contenders wins; a release hands over with token + 1', async () => {
    const clients = Array.from(
      { length: 8 },
      (_, i) => new LockClient({ store: store!, clock, owner: `c${i}` }),
    );
    const handles = await Promise.all(
      clients.map((client) => client.acquire('contended', { leaseMs: 2000 })),
    );
    const winners = handles.filter((handle) => handle !== null);
    expect(winners).toHaveLength(1);
    expect(winners[0]!.token).toBe(1);
    const loser = clients[handles.indexOf(null)]!;
    const waiting = loser.acquire('contended', { leaseMs: 2000, wait: 3000 });
    await winners[0]!.release();
    expect((await waiting)?.token).toBe(2);
  });

  it('takes over a crashed holder after lease + margin; the holder signal fired first', async () => {
    const holder = await new LockClient({ store: store!, clock, owner: 'crashed' }).acquire('crash', {
      leaseMs: 1500,
      autoRenew: false,
    });
    let lostAt = 0;
    holder!.signal.addEventListener('abort', () => {
      lostAt = performance.now();
    });
    const started = performance.now();
    const next = await new LockClient({ store: store!, clock, owner: 'next' }).acquire('crash', {
      leaseMs: 1500,
      wait: 5000,
    });
    const tookOverAt = performance.now();
    expect(next?.token).toBe(2);
    expect(lostAt).toBeGreaterThan(0);
    expect(lostAt).toBeLessThan(tookOverAt);
    expect(tookOverAt - started).toBeGreaterThanOrEqual(1500);
    await next!.release();
  });
});
