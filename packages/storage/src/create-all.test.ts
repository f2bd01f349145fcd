import { isSchedulerError } from '@s3-scheduler/core';
import { describe, expect, it } from 'vitest';
import { createAll } from './create-all.js';
import { ForwardingStore, type StoreOperation } from './forwarding-store.js';
import { MemoryStore } from './memory/memory-store.js';
import type { CreateEntry, CreateManyOptions, CreateResult } from './object-store.js';
import { PrefixedStore } from './prefixed-store.js';
import { ResolvingStore } from './resolving-store.js';
import { storeUnavailable } from './store-errors.js';
import { CountingStore } from './testing/counting-store.js';

const text = (body: Uint8Array) => new TextDecoder().decode(body);

/** Logs when each put starts and ends, one macrotask apart, as a remote store's would. */
class PutLog extends ForwardingStore {
  readonly log: string[] = [];

  protected override async around<T>(operation: StoreOperation, key: string, request: () => Promise<T>) {
    if (operation !== 'put') return request();
    this.log.push(`start ${key}`);
    await new Promise((resolve) => setImmediate(resolve));
    try {
      return await request();
    } finally {
      this.log.push(`end ${key}`);
    }
  }
}

describe('createAll', () => {
  it('without createMany: a key given twice is put after its first entry settled, and the first wins', async () => {
    // CI on the real S3 server: both puts in flight, the later one landed first.
    const store = new PutLog(new MemoryStore());
    const results = await createAll(store, [
      { key: 'k', body: 'first' },
      { key: 'other', body: 'x' },
      { key: 'k', body: 'second' },
    ]);
    expect(results.map((result) => result.status)).toEqual(['created', 'created', 'exists']);
    expect(text((await store.get('k'))!.body)).toBe('first');
    const log = store.log;
    expect(log.indexOf('start k', log.indexOf('end k'))).toBeGreaterThan(log.indexOf('end k'));
    expect(log.filter((line) => line === 'start k')).toHaveLength(2);
    expect(log.indexOf('end k')).toBeLessThan(log.lastIndexOf('start k'));
  });

  it('on MemoryStore: one call for the batch; an invalid key fails only its own entry', async () => {
    const store = new MemoryStore();
    const results = await createAll(store, [
      { key: 'a', body: '1' },
      { key: '', body: '2' },
      { key: 'x'.repeat(1025), body: '3' },
      { key: 'b', body: '4' },
    ]);
    expect(results.map((result) => result.status)).toEqual(['created', 'failed', 'failed', 'created']);
    const failed = results[1] as { error: unknown };
    expect(isSchedulerError(failed.error) && failed.error.code).toBe('INVALID_KEY');
    expect(store.size).toBe(2);
    // Listed in order at once, although the ordered index is filled after the batch.
    expect((await store.list('')).objects.map((object) => object.key)).toEqual(['a', 'b']);
  });

  it('rejects as a whole only for a signal aborted before the call, writing nothing', async () => {
    const store = new MemoryStore();
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(createAll(store, [{ key: 'a', body: '1' }], { signal: controller.signal })).rejects.toThrow(
      'stop',
    );
    await expect(store.createMany([{ key: 'a', body: '1' }], { signal: controller.signal })).rejects.toThrow(
      'stop',
    );
    expect(store.size).toBe(0);
  });

  it('on a store without createMany: one create-only put per entry, at most `concurrency` in flight', async () => {
    const counting = new CountingStore(new MemoryStore());
    let inFlight = 0;
    let most = 0;
    const store = new (class extends CountingStore {
      override async put(...args: Parameters<CountingStore['put']>) {
        inFlight++;
        most = Math.max(most, inFlight);
        await Promise.resolve();
        try {
          return await super.put(...args);
        } finally {
          inFlight--;
        }
      }
    })(counting);
    await store.put('k3', 'taken');
    const entries = Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, body: `${i}` }));
    const results = await createAll(store, entries, { concurrency: 3 });
    expect(results.map((result) => result.status)).toEqual(
      entries.map((entry) => (entry.key === 'k3' ? 'exists' : 'created')),
    );
    expect(most).toBe(3);
    expect(counting.counts.put).toBe(11);
  });

  it('through PrefixedStore and ResolvingStore: the batch reaches MemoryStore in one call, under the prefix', async () => {
    const memory = new MemoryStore();
    let calls = 0;
    const inner = new (class extends MemoryStore {
      override createMany(entries: readonly CreateEntry[], options?: CreateManyOptions) {
        calls++;
        return memory.createMany(entries, options);
      }
    })();
    const store = new PrefixedStore(new ResolvingStore(inner), 'p/');
    const results = await createAll(store, [
      { key: 'a', body: '1' },
      { key: 'b', body: '2' },
    ]);
    expect(results.map((result) => result.status)).toEqual(['created', 'created']);
    expect(calls).toBe(1);
    expect(text((await memory.get('p/a'))!.body)).toBe('1');
  });

  it('ResolvingStore settles an entry whose outcome was unknown as put does: won, or sent again', async () => {
    const memory = new MemoryStore();
    // The batch applies `applied/…` but answers 503 for it, and answers 503 for `lost/…` without applying it.
    const inner = new (class extends MemoryStore {
      override async createMany(entries: readonly CreateEntry[]): Promise<CreateResult[]> {
        const results = await memory.createMany(entries.filter((entry) => !entry.key.startsWith('lost/')));
        return entries.map((entry) => {
          if (entry.key.startsWith('ok/')) return results.shift()!;
          if (entry.key.startsWith('applied/')) results.shift();
          return { status: 'failed', error: storeUnavailable('put', entry.key, { statusCode: 503 }) };
        });
      }
      override put(...args: Parameters<MemoryStore['put']>) {
        return memory.put(...args);
      }
      override get(...args: Parameters<MemoryStore['get']>) {
        return memory.get(...args);
      }
    })();
    await memory.put('applied/taken', 'someone else', { ifNoneMatch: '*' });
    // No back-off wait before the one resend.
    const store = new ResolvingStore(inner, { initialBackoffMs: 0 });
    const results = await store.createMany!([
      { key: 'ok/1', body: 'a' },
      { key: 'applied/1', body: 'b' },
      { key: 'lost/1', body: 'c' },
      { key: 'applied/taken', body: 'd' },
    ]);
    expect(results.map((result) => result.status)).toEqual(['created', 'created', 'created', 'exists']);
    for (const [index, key] of [
      [1, 'applied/1'],
      [2, 'lost/1'],
    ] as const) {
      expect((results[index] as { etag: string }).etag).toBe((await memory.head(key))!.etag);
    }
    expect(text((await memory.get('lost/1'))!.body)).toBe('c');
    expect(text((await memory.get('applied/taken'))!.body)).toBe('someone else');
  });
});
