import { ManualClock } from '@s3-scheduler/core/testing';
import { describe, expect, it } from 'vitest';
import { describeObjectStoreConformance } from '../conformance/object-store-conformance.js';
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
});
