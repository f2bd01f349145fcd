import { isSchedulerError } from '@s3-scheduler/core';
import { ManualClock } from '@s3-scheduler/core/testing';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from './memory/memory-store.js';
import { PluginStorage } from './plugin-storage.js';
import { ResolvingStore } from './resolving-store.js';
import { FaultyStore } from './testing/faulty-store.js';

function setup() {
  const memory = new MemoryStore();
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const storage = new PluginStorage(memory, 'scheduler', { clock });
  return { memory, clock, storage };
}

describe('PluginStorage', () => {
  it('stores JSON documents under plugin=<namespace>/', async () => {
    const { memory, storage } = setup();
    await storage.set('jobs/daily', { cron: '0 3 * * *', enabled: true });
    expect(await storage.get('jobs/daily')).toEqual({ cron: '0 3 * * *', enabled: true });
    expect(await storage.get('jobs/missing')).toBeNull();
    expect((await memory.list('')).objects.map((object) => object.key)).toEqual([
      'plugin=scheduler/jobs/daily',
    ]);
  });

  it('encodes every level of a key, so no key escapes the namespace or collides', async () => {
    const { memory, storage } = setup();
    const keys = ['../../escape', 'a/../b', 'a/./b', 'a//b', '作业/😀', 'a%2Fb', 'a/b'];
    for (const key of keys) await storage.set(key, key);
    for (const key of keys) expect(await storage.get(key)).toBe(key);
    const stored = (await memory.list('')).objects.map((object) => object.key);
    expect(stored).toHaveLength(keys.length);
    for (const key of stored) {
      expect(key.startsWith('plugin=scheduler/')).toBe(true);
      expect(key.split('/')).not.toContain('..');
      expect(key.split('/')).not.toContain('.');
    }
  });

  it('lists keys by prefix, decoding them (long ones too)', async () => {
    const { storage } = setup();
    const long = `jobs/${'é'.repeat(300)}`;
    for (const key of ['jobs/a', 'jobs/b/c', 'jobsx', 'other/a', long]) await storage.set(key, 1);
    expect(await storage.list('jobs/')).toEqual(['jobs/a', 'jobs/b/c', long]);
    expect(await storage.list('jobs')).toEqual(['jobs/a', 'jobs/b/c', long, 'jobsx']);
    expect(await storage.list(`jobs/${'é'.repeat(200)}`)).toEqual([long]);
    expect(await storage.list()).toHaveLength(5);
    expect(await new PluginStorage(new MemoryStore(), 'x').list()).toEqual([]);
  });

  it('setIfNotExists creates once and returns null when a live document exists', async () => {
    const { storage } = setup();
    const version = await storage.setIfNotExists('lock', { owner: 'a' });
    expect(version).toEqual(expect.any(String));
    expect(await storage.setIfNotExists('lock', { owner: 'b' })).toBeNull();
    expect(await storage.get('lock')).toEqual({ owner: 'a' });
  });

  it('setIfVersion is compare-and-swap on the version', async () => {
    const { storage } = setup();
    await storage.set('doc', { n: 1 });
    const read = await storage.getWithVersion<{ n: number }>('doc');
    expect(read).toEqual({ data: { n: 1 }, version: expect.any(String) });
    const next = await storage.setIfVersion('doc', { n: 2 }, read!.version);
    expect(next).toEqual(expect.any(String));
    expect(await storage.setIfVersion('doc', { n: 3 }, read!.version)).toBeNull();
    expect(await storage.setIfVersion('missing', { n: 1 }, read!.version)).toBeNull();
    expect(await storage.get('doc')).toEqual({ n: 2 });
  });

  it('writing the same data twice still changes the version (every write carries a nonce)', async () => {
    const { storage } = setup();
    const a = await storage.set('same', { x: 1 });
    const b = await storage.set('same', { x: 1 });
    expect(a).not.toBe(b);
  });

  it('enforces TTLs on read with the clock, and lets an expired key be created again', async () => {
    const { clock, storage } = setup();
    await storage.setIfNotExists('lease', { owner: 'a' }, { ttlMs: 1000 });
    await clock.advance(999);
    expect(await storage.get('lease')).toEqual({ owner: 'a' });
    expect(await storage.setIfNotExists('lease', { owner: 'b' }, { ttlMs: 1000 })).toBeNull();
    await clock.advance(1);
    expect(await storage.get('lease')).toBeNull();
    expect(await storage.getWithVersion('lease')).toBeNull();
    expect(await storage.setIfNotExists('lease', { owner: 'b' }, { ttlMs: 1000 })).toEqual(
      expect.any(String),
    );
    expect(await storage.get('lease')).toEqual({ owner: 'b' });
  });

  it('delete removes a document; deleting a missing one succeeds', async () => {
    const { storage } = setup();
    await storage.set('d', 1);
    await storage.delete('d');
    expect(await storage.get('d')).toBeNull();
    await expect(storage.delete('d')).resolves.toBeUndefined();
  });

  it.each([
    ['not JSON', 'not json {'],
    ['not UTF-8', new Uint8Array([0xff, 0xfe, 0x00])],
    ['JSON of another shape', JSON.stringify({ hello: 'world' })],
    ['a document of another key', JSON.stringify({ v: 1, key: 'other', nonce: 'n', data: 1 })],
  ])('a corrupted object (%s) gives STORE_CORRUPTED naming the key', async (_title, body) => {
    const { memory, storage } = setup();
    await memory.put(storage.objectKey('bad'), body);
    const error = await storage.get('bad').catch((e: unknown) => e);
    expect(isSchedulerError(error) && error.code).toBe('STORE_CORRUPTED');
    expect(isSchedulerError(error) && error.metadata).toMatchObject({
      key: 'bad',
      objectKey: 'plugin=scheduler/bad',
    });
    expect(isSchedulerError(error) && error.suggestion).toBeTruthy();
    // Nothing was overwritten: the bad object is still there to inspect.
    expect(await memory.get(storage.objectKey('bad'))).not.toBeNull();
  });

  it('rejects bad input with a clear error', async () => {
    const { storage } = setup();
    await expect(storage.set('', 1)).rejects.toMatchObject({ code: 'INVALID_KEY' });
    await expect(storage.set('k', 1, { ttlMs: -5 })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(storage.set('k', undefined)).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(storage.set('k', { n: 10n })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    expect(() => new PluginStorage(new MemoryStore(), '')).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION' }),
    );
  });

  it('settles lost responses through ResolvingStore: each setIfNotExists learns the truth', async () => {
    const memory = new MemoryStore();
    const faulty = new FaultyStore(memory, {
      seed: 3,
      onlyConditionalWrites: true,
      rates: { lostResponse: 0.5 },
    });
    const instant = { now: () => 0, monotonic: () => 0, sleep: async () => {} };
    const a = new PluginStorage(new ResolvingStore(faulty, { clock: instant }), 'p', { clock: instant });
    const b = new PluginStorage(new ResolvingStore(faulty, { clock: instant, seed: 9 }), 'p', {
      clock: instant,
    });
    for (let i = 0; i < 50; i++) {
      const [x, y] = await Promise.all([a.setIfNotExists(`k${i}`, 'a'), b.setIfNotExists(`k${i}`, 'b')]);
      expect([x, y].filter((version) => version !== null)).toHaveLength(1);
      expect(await a.get(`k${i}`)).toBe(x !== null ? 'a' : 'b');
    }
    expect(faulty.injected.lostResponse).toBeGreaterThan(10);
  });
});
