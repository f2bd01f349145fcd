import { ManualClock } from '@s3-scheduler/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeObjectStoreConformance } from '../conformance/object-store-conformance.js';
import { compareKeys } from '../key-order.js';
import { PrefixedStore } from '../prefixed-store.js';
import { ResolvingStore } from '../resolving-store.js';
import { MemoryStore } from './memory-store.js';

describeObjectStoreConformance('MemoryStore', () => new MemoryStore());
describeObjectStoreConformance(
  'MemoryStore behind ResolvingStore and PrefixedStore',
  () => new PrefixedStore(new ResolvingStore(new MemoryStore()), 'scheduler/'),
);

describe('MemoryStore', () => {
  it('shares a named bucket across instances in one process', async () => {
    MemoryStore.resetBucket('shared-test');
    const a = new MemoryStore({ bucket: 'shared-test' });
    const b = new MemoryStore({ bucket: 'shared-test' });
    await a.put('k', 'from a');
    expect(new TextDecoder().decode((await b.get('k'))!.body)).toBe('from a');
    expect(a.description).toBe('memory://shared-test');
    expect(b.size).toBe(1);
    expect(await new MemoryStore().get('k')).toBeNull();
    MemoryStore.resetBucket('shared-test');
    expect(await new MemoryStore({ bucket: 'shared-test' }).get('k')).toBeNull();
  });

  it('takes lastModified from its clock', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const store = new MemoryStore({ clock });
    await store.put('k', 'x');
    expect((await store.head('k'))!.lastModified.toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });

  it('stores a copy of the body, so later changes to the caller’s array do not leak in', async () => {
    const store = new MemoryStore();
    const body = new Uint8Array([1, 2, 3]);
    await store.put('k', body);
    body[0] = 9;
    const read = await store.get('k');
    read!.body[1] = 9;
    expect([...(await store.get('k'))!.body]).toEqual([1, 2, 3]);
  });

  it('rejects at once when the signal is aborted', async () => {
    const store = new MemoryStore();
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(store.put('k', 'x', { signal: controller.signal })).rejects.toThrow('stop');
    await expect(store.get('k', { signal: controller.signal })).rejects.toThrow('stop');
    expect(await store.get('k')).toBeNull();
  });

  it('lists with a delimiter past a group at the end of a page', async () => {
    const store = new MemoryStore();
    for (const key of ['a/1', 'a/2', 'b', 'c/1']) await store.put(key, 'x');
    const page = await store.list('', { delimiter: '/', limit: 1 });
    expect(page).toEqual({ objects: [], commonPrefixes: ['a/'], nextStartAfter: 'a/2' });
    const next = await store.list('', { delimiter: '/', limit: 1, startAfter: page.nextStartAfter! });
    expect(next.objects.map((object) => object.key)).toEqual(['b']);
  });

  it('lists like a sorted array of its keys after any mix of puts and deletes', async () => {
    // The model: every live key, sorted in UTF-8 order, filtered and grouped by hand.
    const segment = fc.constantFrom('a', 'b', 'ab', '\u{e000}', '\u{1f600}', '');
    const key = fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/') || 'x');
    const op = fc.record({ remove: fc.boolean(), key });
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { maxLength: 60 }),
        fc.constantFrom('', 'a', 'a/', 'b/'),
        fc.option(key, { nil: undefined }),
        fc.option(fc.constant('/'), { nil: undefined }),
        fc.integer({ min: 1, max: 5 }),
        async (ops, prefix, startAfter, delimiter, limit) => {
          const store = new MemoryStore();
          const live = new Set<string>();
          for (const { remove, key } of ops) {
            if (remove) {
              await store.delete(key);
              live.delete(key);
            } else {
              await store.put(key, 'x');
              live.add(key);
            }
          }
          const expected: string[] = [];
          for (const key of [...live].sort(compareKeys)) {
            if (!key.startsWith(prefix)) continue;
            const cut = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
            const entry = cut >= 0 ? key.slice(0, cut + 1) : key;
            if (startAfter !== undefined && compareKeys(cut >= 0 ? key : entry, startAfter) <= 0) continue;
            if (expected.at(-1) !== entry) expected.push(entry);
          }
          const page = await store.list(prefix, {
            limit,
            ...(startAfter === undefined ? {} : { startAfter }),
            ...(delimiter === undefined ? {} : { delimiter }),
          });
          const got = [...page.objects.map((object) => object.key), ...page.commonPrefixes].sort(compareKeys);
          expect(got).toEqual(expected.slice(0, limit).sort(compareKeys));
          expect(page.nextStartAfter !== undefined).toBe(expected.length > limit);
          expect(store.size).toBe(live.size);
        },
      ),
      { numRuns: 300, seed: 22 },
    );
  });
});
