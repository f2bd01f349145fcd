import { isSchedulerError } from '@s3-scheduler/core';
import { describe, expect, it } from 'vitest';
import { openStore } from './connect.js';
import { MemoryStore } from './memory/memory-store.js';
import type { DeleteOptions, ObjectStore, PutOptions } from './object-store.js';
import { probeStore } from './probe.js';
import { CountingStore } from './testing/counting-store.js';

/** A deliberately broken store, like the npm S3 fakes: it drops the conditions it is asked for. */
class IgnoringConditionsStore implements ObjectStore {
  readonly description = 'memory://(ignores conditions)';
  readonly get: ObjectStore['get'];
  readonly head: ObjectStore['head'];
  readonly list: ObjectStore['list'];

  constructor(
    private readonly inner: ObjectStore,
    private readonly ignore: { ifNoneMatch?: boolean; ifMatch?: boolean; quotedOnly?: boolean },
  ) {
    this.get = inner.get.bind(inner);
    this.head = inner.head.bind(inner);
    this.list = inner.list.bind(inner);
  }

  put(key: string, body: Uint8Array | string, options: PutOptions = {}) {
    const { ifNoneMatch, ifMatch, ...rest } = options;
    // `quotedOnly` mimics a server that matches only quoted ETags: unquoted never match.
    if (this.ignore.quotedOnly && ifMatch !== undefined)
      return this.inner.put(key, body, { ...rest, ifMatch: `x${ifMatch}` });
    return this.inner.put(key, body, {
      ...rest,
      ...(this.ignore.ifNoneMatch || ifNoneMatch === undefined ? {} : { ifNoneMatch }),
      ...(this.ignore.ifMatch || ifMatch === undefined ? {} : { ifMatch }),
    });
  }

  delete(key: string, options?: DeleteOptions) {
    return this.inner.delete(key, options);
  }
}

async function probeError(store: ObjectStore) {
  return probeStore(store).then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('probeStore', () => {
  it('passes on a store that honours conditions, with 4 puts, 1 head and 1 delete, and cleans up', async () => {
    const memory = new MemoryStore();
    const counting = new CountingStore(memory);
    await probeStore(counting);
    expect(counting.snapshot()).toMatchObject({ put: 4, head: 1, delete: 1, get: 0, list: 0 });
    expect(memory.size).toBe(0);
  });

  it.each([
    ['If-None-Match', { ifNoneMatch: true }],
    ['If-Match', { ifMatch: true }],
    ['If-None-Match', { ifNoneMatch: true, ifMatch: true }],
  ])('refuses a store that ignores %s with STORE_UNSAFE, naming the condition', async (condition, ignore) => {
    const memory = new MemoryStore();
    const error = await probeError(new IgnoringConditionsStore(memory, ignore));
    expect(isSchedulerError(error) && error.code).toBe('STORE_UNSAFE');
    expect(isSchedulerError(error) && error.metadata.condition).toBe(
      condition === 'If-Match' ? 'If-Match' : 'If-None-Match: *',
    );
    expect(isSchedulerError(error) && error.suggestion).toContain('unsafeSkipProbe');
    expect(memory.size).toBe(0);
  });

  it('refuses a store where If-Match with the right, unquoted ETag fails', async () => {
    const error = await probeError(new IgnoringConditionsStore(new MemoryStore(), { quotedOnly: true }));
    expect(isSchedulerError(error) && error.code).toBe('STORE_UNSAFE');
    expect(isSchedulerError(error) && String(error.metadata.observed)).toContain('unquoted');
  });

  it('passes other failures through with their own code', async () => {
    const failing = new MemoryStore();
    failing.put = async () => {
      throw Object.assign(new Error('denied'), { code: 'X' });
    };
    await expect(probeStore(failing)).rejects.toThrow('denied');
  });
});

describe('openStore() and the probe', () => {
  it('refuses a store that ignores conditions, unless unsafeSkipProbe is set', async () => {
    const memory = new MemoryStore();
    const broken = new IgnoringConditionsStore(memory, { ifNoneMatch: true, ifMatch: true });
    await expect(openStore(broken, { prefix: 'x/' })).rejects.toMatchObject({ code: 'STORE_UNSAFE' });
    expect(memory.size).toBe(0);
    const store = await openStore(broken, { prefix: 'x/', unsafeSkipProbe: true });
    await store.put('k', 'v');
    expect(await memory.get('x/k')).not.toBeNull();
  });

  it('accepts a store that honours conditions and scopes it to the prefix', async () => {
    const memory = new MemoryStore();
    const store = await openStore(memory, { prefix: 'jobs' });
    expect(store.description).toBe('memory://(private)/jobs/');
    await store.put('k', 'v', { ifNoneMatch: '*' });
    expect((await memory.list('')).objects.map((object) => object.key)).toEqual(['jobs/k']);
  });
});
