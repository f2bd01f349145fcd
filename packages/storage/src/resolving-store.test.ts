import type { Clock } from '@s3-scheduler/core';
import { ManualClock } from '@s3-scheduler/core/testing';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from './memory/memory-store.js';
import type { ObjectStore, PutOptions } from './object-store.js';
import { ResolvingStore } from './resolving-store.js';
import { isPreconditionFailed, preconditionFailed, storeUnavailable } from './store-errors.js';
import { CountingStore } from './testing/counting-store.js';
import { FaultyStore } from './testing/faulty-store.js';

const instant: Clock = { now: () => 0, monotonic: () => 0, sleep: async () => {} };

/**
 * Fails the next puts in scripted ways: 'lost' applies the write then fails as outcome unknown,
 * 'fail' does not apply, 'applied412' applies and then answers 412 (what an SDK-internal retry
 * of a won conditional write sees).
 */
class ScriptedStore extends MemoryStore {
  script: Array<'lost' | 'fail' | 'applied412' | 'ok'> = [];
  override async put(key: string, body: Uint8Array | string, options?: PutOptions) {
    const step = this.script.shift() ?? 'ok';
    if (step === 'fail') throw storeUnavailable('put', key, { statusCode: 500 });
    const result = await super.put(key, body, options);
    if (step === 'lost') throw storeUnavailable('put', key, { reason: 'response lost' });
    if (step === 'applied412') throw preconditionFailed(key, 'retried');
    return result;
  }
}

function resolving(inner: ObjectStore) {
  return new ResolvingStore(inner, { clock: instant });
}

describe('ResolvingStore', () => {
  it('a won create-only write whose response was lost resolves with the stored ETag', async () => {
    const inner = new ScriptedStore();
    inner.script = ['lost'];
    const { etag } = await resolving(inner).put('k', 'mine', { ifNoneMatch: '*' });
    expect(etag).toBe((await inner.head('k'))!.etag);
  });

  it('a write that did not apply is sent again', async () => {
    const inner = new ScriptedStore();
    inner.script = ['fail', 'fail'];
    const counting = new CountingStore(inner);
    await resolving(counting).put('k', 'mine', { ifNoneMatch: '*' });
    expect(counting.counts.put).toBe(3);
    expect(new TextDecoder().decode((await inner.get('k'))!.body)).toBe('mine');
  });

  it('a 412 on its own retry after the first try won is a win (the SDK-retry trap)', async () => {
    const inner = new ScriptedStore();
    const { etag } = await inner.put('k', 'v1');
    inner.script = ['fail', 'applied412'];
    const result = await resolving(inner).put('k', 'v2', { ifMatch: etag });
    expect(result.etag).toBe((await inner.head('k'))!.etag);
  });

  it('an outcome-unknown write that lost learns PRECONDITION_FAILED', async () => {
    const inner = new ScriptedStore();
    await inner.put('k', 'theirs');
    inner.script = ['lost'];
    const error = await resolving(inner)
      .put('k', 'mine', { ifNoneMatch: '*' })
      .catch((e: unknown) => e);
    expect(isPreconditionFailed(error)).toBe(true);
  });

  it('compare-and-swap that lost after an unknown outcome learns PRECONDITION_FAILED', async () => {
    const inner = new ScriptedStore();
    const { etag } = await inner.put('k', 'v1');
    await inner.put('k', 'someone else');
    inner.script = ['fail'];
    await expect(resolving(inner).put('k', 'mine', { ifMatch: etag })).rejects.toMatchObject({
      code: 'PRECONDITION_FAILED',
    });
  });

  it('gives up after maxAttempts with STORE_UNAVAILABLE', async () => {
    const inner = new FaultyStore(new MemoryStore(), { clock: instant });
    inner.outage = true;
    const counting = new CountingStore(inner);
    const store = new ResolvingStore(counting, { clock: instant, maxAttempts: 3 });
    await expect(store.get('k')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(counting.counts.get).toBe(3);
  });

  it('a frozen server (each request hangs 10 s to its deadline) fails an operation within the retry budget', async () => {
    const clock = new ManualClock();
    const memory = new MemoryStore();
    // Every request waits for its 10 s deadline and fails, as S3Store does against a frozen server.
    const frozen = new FaultyStore(memory, { clock, latencyMs: [10_000, 10_000] });
    frozen.outage = true;
    const store = new ResolvingStore(frozen, { clock });
    const outcomes: Array<{ op: string; code: unknown; at: number }> = [];
    const track = (op: string, promise: Promise<unknown>) =>
      promise.catch((error: { code?: string }) =>
        outcomes.push({ op, code: error.code, at: clock.monotonic() }),
      );
    track('get', store.get('k'));
    track('put', store.put('k', 'v', { ifNoneMatch: '*' }));
    track('delete', store.delete('k'));
    await clock.advance(60_000);
    expect(outcomes.map(({ op, code }) => [op, code]).sort()).toEqual([
      ['delete', 'STORE_UNAVAILABLE'],
      ['get', 'STORE_UNAVAILABLE'],
      ['put', 'STORE_UNAVAILABLE'],
    ]);
    // Budget 15 s: no attempt starts after it, so each ends within 15 s plus one 10 s request
    // (without the budget: 6 attempts, and a write's read-back 6 more each, minutes).
    for (const { at } of outcomes) expect(at).toBeLessThanOrEqual(15_000 + 10_000 + 2_000);
    // Once it thaws, operations go through again.
    frozen.outage = false;
    const put = store.put('k', 'v', { ifNoneMatch: '*' });
    await clock.advance(30_000);
    await expect(put).resolves.toMatchObject({ etag: expect.any(String) });
  });

  it('does not retry definitive failures', async () => {
    const memory = new MemoryStore();
    await memory.put('k', 'x');
    const counting = new CountingStore(memory);
    await expect(resolving(counting).put('k', 'y', { ifNoneMatch: '*' })).rejects.toMatchObject({
      code: 'PRECONDITION_FAILED',
    });
    expect(counting.total).toBe(1);
  });

  it('settles a conditional delete whose response was lost', async () => {
    const memory = new MemoryStore();
    const { etag } = await memory.put('k', 'x');
    const faulty = new FaultyStore(memory, { clock: instant, rates: { lostResponse: 1 } });
    await resolving(faulty).delete('k', { ifMatch: etag });
    expect(await memory.get('k')).toBeNull();
  });
});

describe('FaultyStore and CountingStore', () => {
  it('injects the same faults for the same seed', async () => {
    const run = async () => {
      const faulty = new FaultyStore(new MemoryStore(), {
        seed: 5,
        clock: instant,
        rates: { serverError500: 0.3 },
      });
      const outcomes: string[] = [];
      for (let i = 0; i < 30; i++)
        outcomes.push(
          await faulty.get(`k${i}`).then(
            () => 'ok',
            () => 'fail',
          ),
        );
      return outcomes;
    };
    const first = await run();
    expect(first).toEqual(await run());
    expect(first).toContain('fail');
    expect(first).toContain('ok');
  });

  it('counts requests by kind and resets', async () => {
    const counting = new CountingStore(new MemoryStore());
    await counting.put('a', 'x');
    await counting.get('a');
    await counting.head('a');
    await counting.list('');
    await counting.delete('a');
    expect(counting.snapshot()).toEqual({ get: 1, head: 1, put: 1, delete: 1, list: 1, total: 5 });
    expect(counting.writes).toBe(2);
    counting.reset();
    expect(counting.total).toBe(0);
  });
});

describe('withResolvedOutcomes', () => {
  it('wraps a plain store once and leaves a resolving chain (even behind a prefix) as it is', async () => {
    const { MemoryStore, PrefixedStore, ResolvingStore, withResolvedOutcomes } = await import('./index.js');
    const plain = new MemoryStore();
    const wrapped = withResolvedOutcomes(plain);
    expect(wrapped).toBeInstanceOf(ResolvingStore);
    expect(withResolvedOutcomes(wrapped)).toBe(wrapped);
    const scoped = new PrefixedStore(wrapped, 'scheduler/');
    expect(scoped.resolvesOutcomes).toBe(true);
    expect(withResolvedOutcomes(scoped)).toBe(scoped);
    expect(new PrefixedStore(plain, 'x/').resolvesOutcomes).toBe(false);
  });
});
