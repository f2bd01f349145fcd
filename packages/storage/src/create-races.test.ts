import { type Clock, createNonce } from '@s3-scheduler/core';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from './memory/memory-store.js';
import type { ObjectStore } from './object-store.js';
import { ResolvingStore } from './resolving-store.js';
import { isPreconditionFailed } from './store-errors.js';
import { FaultyStore } from './testing/faulty-store.js';
import { s3TestBackend, s3TestEnv, uniqueTestPrefix } from './testing/s3-test-store.js';

/** Back-off without waiting, so 1,000 races on the memory store take milliseconds. */
const instantClock: Clock = { now: () => 0, monotonic: () => 0, sleep: async () => {} };

interface RaceReport {
  races: number;
  faults: Record<string, number>;
  ms: number;
}

/**
 * `races` create-only races of `writers` writers each, `batch` races at a time, through a
 * FaultyStore that loses 10% of conditional-write responses (after applying the write) and
 * answers another 10% with a 5xx. Every writer has its own ResolvingStore, as separate
 * scheduler instances would.
 */
async function runRaces(
  backend: ObjectStore,
  options: { races: number; writers: number; batch: number; prefix: string; clock?: Clock; seed: number },
): Promise<RaceReport> {
  const faulty = new FaultyStore(backend, {
    seed: options.seed,
    onlyConditionalWrites: true,
    rates: { lostResponse: 0.1, serverError500: 0.1 },
  });
  const writers = Array.from(
    { length: options.writers },
    (_, i) =>
      new ResolvingStore(faulty, {
        seed: options.seed + i,
        initialBackoffMs: 2,
        maxAttempts: 8,
        ...(options.clock ? { clock: options.clock } : {}),
      }),
  );
  const started = performance.now();
  for (let first = 0; first < options.races; first += options.batch) {
    const races = Array.from({ length: Math.min(options.batch, options.races - first) }, (_, i) => first + i);
    await Promise.all(
      races.map(async (race) => {
        const key = `${options.prefix}race-${race}`;
        const bodies = writers.map((_, i) => JSON.stringify({ race, writer: i, nonce: createNonce() }));
        const results = await Promise.allSettled(
          writers.map((store, i) => store.put(key, bodies[i]!, { ifNoneMatch: '*' })),
        );
        const winners = results.flatMap((result, i) => (result.status === 'fulfilled' ? [i] : []));
        expect(winners, `race ${race}: winners`).toHaveLength(1);
        for (const result of results) {
          if (result.status === 'rejected') {
            expect(
              isPreconditionFailed(result.reason),
              `race ${race}: loser got ${String(result.reason)}`,
            ).toBe(true);
          }
        }
        // The winner's view is the truth: its bytes are stored, under the ETag it was told.
        const stored = await backend.get(key);
        const winner = winners[0]!;
        expect(new TextDecoder().decode(stored!.body)).toBe(bodies[winner]);
        expect(stored!.etag).toBe((results[winner] as PromiseFulfilledResult<{ etag: string }>).value.etag);
      }),
    );
  }
  return {
    races: options.races,
    faults: { ...faulty.injected },
    ms: Math.round(performance.now() - started),
  };
}

describe('1,000 create-only races of 4 writers through lost responses and 5xx', () => {
  it('MemoryStore: exactly one winner per race, and every writer learns the true outcome', async () => {
    const report = await runRaces(new MemoryStore(), {
      races: 1000,
      writers: 4,
      batch: 100,
      prefix: '',
      clock: instantClock,
      seed: 42,
    });
    expect(report.faults.lostResponse).toBeGreaterThan(report.races / 5);
    expect(report.faults.serverError500).toBeGreaterThan(report.races / 5);
    console.info(
      `[races] memory: ${report.races} races in ${report.ms} ms, faults ${JSON.stringify(report.faults)}`,
    );
  });
});

// 400 races on the real server (1,600 concurrent create-only writes, about 20 s on a busy
// machine); the memory store above runs the full 1,000 in milliseconds.
const S3_RACES = 400;
describe.runIf(s3TestEnv())(`${S3_RACES} create-only races on the real S3 server`, () => {
  it('exactly one winner per race, and every writer learns the true outcome', async () => {
    const backend = (await s3TestBackend())!;
    const prefix = uniqueTestPrefix();
    try {
      const report = await runRaces(backend, { races: S3_RACES, writers: 4, batch: 25, prefix, seed: 7 });
      expect(report.faults.lostResponse).toBeGreaterThan(report.races / 5);
      expect(report.faults.serverError500).toBeGreaterThan(report.races / 5);
      console.info(
        `[races] S3: ${report.races} races in ${report.ms} ms, faults ${JSON.stringify(report.faults)}`,
      );
    } finally {
      const keys = Array.from({ length: S3_RACES }, (_, race) => `${prefix}race-${race}`);
      for (let i = 0; i < keys.length; i += 50)
        await Promise.all(keys.slice(i, i + 50).map((key) => backend.delete(key)));
      await backend.close();
    }
  });
});
