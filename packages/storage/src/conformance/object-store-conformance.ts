import { createNonce, isSchedulerError } from '@s3-scheduler/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAll } from '../create-all.js';
import { listAll } from '../list-all.js';
import type { ObjectStore } from '../object-store.js';
import { isPreconditionFailed } from '../store-errors.js';

export interface ConformanceOptions {
  /**
   * Whether the backend honours `If-Match` on delete. AWS does (since 2025-09); Ceph RGW before
   * Ceph 20, MinIO and most fakes ignore it. When false, the stale-ETag delete case is left out
   * (the scheduler never relies on conditional deletes). Default true.
   */
  conditionalDelete?: boolean;
  /** Timeout of each test in ms (real servers need more). Default 30,000. */
  timeoutMs?: number;
  /** Delete what each test wrote afterwards. Default true. */
  cleanup?: boolean;
}

/**
 * The storage contract as tests: any `ObjectStore` backend must pass all of them. `makeStore`
 * is called before each test and must return an empty store (a fresh prefix is enough); run
 * real backends wrapped as the scheduler uses them (a `ResolvingStore`, as `connect()` does),
 * since servers such as RGW answer some lost compare-and-swap races with a 500 that only the
 * re-read can settle.
 *
 * ```ts
 * import { describeObjectStoreConformance } from '@s3-scheduler/storage/conformance';
 * describeObjectStoreConformance('my store', () => new MyStore());
 * ```
 */
export function describeObjectStoreConformance(
  name: string,
  makeStore: () => Promise<ObjectStore> | ObjectStore,
  options: ConformanceOptions = {},
): void {
  const timeout = options.timeoutMs ?? 30_000;
  const test = (title: string, body: (store: ObjectStore) => Promise<void>, testTimeout = timeout) =>
    it(title, async () => body(store), testTimeout);
  let store: ObjectStore;

  describe(`ObjectStore conformance: ${name}`, () => {
    beforeEach(async () => {
      store = await makeStore();
    }, timeout);

    afterEach(async () => {
      if (options.cleanup === false || !store) return;
      const keys: string[] = [];
      for await (const object of listAll(store, '')) keys.push(object.key);
      await inBatches(keys, 32, (key) => store.delete(key));
    }, timeout);

    describe('get, head, put, delete', () => {
      test('a missing key reads as null', async (store) => {
        expect(await store.get('missing')).toBeNull();
        expect(await store.head('missing')).toBeNull();
      });

      test('put then get returns the same bytes and an unquoted ETag', async (store) => {
        const { etag } = await store.put('a', 'hello');
        expect(etag).toMatch(/^[^"]+$/);
        const object = await store.get('a');
        expect(object).not.toBeNull();
        expect(new TextDecoder().decode(object!.body)).toBe('hello');
        expect(object!.etag).toBe(etag);
        expect(object!.lastModified).toBeInstanceOf(Date);
        const info = await store.head('a');
        expect(info).toMatchObject({ key: 'a', etag, size: 5 });
      });

      test('string bodies are stored as UTF-8', async (store) => {
        await store.put('utf8', 'é中😀');
        const object = await store.get('utf8');
        expect([...object!.body]).toEqual([...Buffer.from('é中😀', 'utf8')]);
      });

      test('binary bodies round-trip byte for byte, empty ones too', async (store) => {
        const every = Uint8Array.from({ length: 512 }, (_, i) => (i * 7 + 3) % 256);
        await store.put('bin', every);
        expect(Buffer.compare((await store.get('bin'))!.body, every)).toBe(0);
        await store.put('empty', new Uint8Array());
        expect((await store.get('empty'))!.body.byteLength).toBe(0);
        expect((await store.head('empty'))!.size).toBe(0);
      });

      test('a different body gets a different ETag', async (store) => {
        const first = await store.put('k', 'one');
        const second = await store.put('k', 'two');
        expect(second.etag).not.toBe(first.etag);
        expect((await store.head('k'))!.etag).toBe(second.etag);
      });

      test('delete removes the key; deleting a missing key succeeds', async (store) => {
        await store.put('d', 'x');
        await store.delete('d');
        expect(await store.get('d')).toBeNull();
        await expect(store.delete('d')).resolves.toBeUndefined();
        await expect(store.delete('never-there')).resolves.toBeUndefined();
      });
    });

    describe('conditional writes', () => {
      test('create-only succeeds on a missing key and fails on an existing one', async (store) => {
        const { etag } = await store.put('c', 'first', { ifNoneMatch: '*' });
        const error = await store.put('c', 'second', { ifNoneMatch: '*' }).catch((e: unknown) => e);
        expect(isPreconditionFailed(error)).toBe(true);
        expect(isSchedulerError(error) && error.code).toBe('PRECONDITION_FAILED');
        const object = await store.get('c');
        expect(new TextDecoder().decode(object!.body)).toBe('first');
        expect(object!.etag).toBe(etag);
      });

      test('a batch create-only put (createAll) creates each missing key and leaves each existing one', async (store) => {
        const before = await store.put('b/taken', 'old', { ifNoneMatch: '*' });
        const results = await createAll(store, [
          { key: 'b/1', body: 'one', contentType: 'application/json' },
          { key: 'b/taken', body: 'new' },
          { key: 'b/2', body: new TextEncoder().encode('two') },
          { key: 'b/1', body: 'again' },
        ]);
        expect(results.map((result) => result.status)).toEqual(['created', 'exists', 'created', 'exists']);
        const text = async (key: string) => new TextDecoder().decode((await store.get(key))!.body);
        expect(await text('b/1')).toBe('one');
        expect(await text('b/2')).toBe('two');
        expect(await text('b/taken')).toBe('old');
        expect((await store.head('b/taken'))!.etag).toBe(before.etag);
        const created = results[0] as { etag: string };
        expect((await store.get('b/1'))!.etag).toBe(created.etag);
        // The ETag a batch returns is the one conditional writes compare against.
        await expect(store.put('b/1', 'three', { ifMatch: created.etag })).resolves.toHaveProperty('etag');
        expect(await createAll(store, [])).toEqual([]);
      });

      test('create-only succeeds again after the key was deleted', async (store) => {
        await store.put('r', 'one', { ifNoneMatch: '*' });
        await store.delete('r');
        await expect(store.put('r', 'two', { ifNoneMatch: '*' })).resolves.toHaveProperty('etag');
      });

      test('If-Match with the current ETag overwrites', async (store) => {
        const { etag } = await store.put('m', 'v1');
        const next = await store.put('m', 'v2', { ifMatch: etag });
        expect(next.etag).not.toBe(etag);
        expect(new TextDecoder().decode((await store.get('m'))!.body)).toBe('v2');
      });

      test('If-Match accepts the ETag quoted as HTTP sends it', async (store) => {
        const { etag } = await store.put('q', 'v1');
        await expect(store.put('q', 'v2', { ifMatch: `"${etag}"` })).resolves.toHaveProperty('etag');
      });

      test('If-Match with a wrong or stale ETag fails and changes nothing', async (store) => {
        const first = await store.put('s', 'v1');
        const second = await store.put('s', 'v2', { ifMatch: first.etag });
        await expectPreconditionFailed(store.put('s', 'v3', { ifMatch: first.etag }));
        await expectPreconditionFailed(store.put('s', 'v3', { ifMatch: 'not-an-etag' }));
        const object = await store.get('s');
        expect(object!.etag).toBe(second.etag);
        expect(new TextDecoder().decode(object!.body)).toBe('v2');
      });

      test('If-Match on a missing key fails (412 or 404) and creates nothing', async (store) => {
        await expectPreconditionFailed(
          store.put('nothing', 'x', { ifMatch: 'd41d8cd98f00b204e9800998ecf8427e' }),
        );
        expect(await store.get('nothing')).toBeNull();
      });

      test('If-Match after a delete fails', async (store) => {
        const { etag } = await store.put('gone', 'x');
        await store.delete('gone');
        await expectPreconditionFailed(store.put('gone', 'y', { ifMatch: etag }));
        expect(await store.get('gone')).toBeNull();
      });

      test('delete with the current ETag deletes', async (store) => {
        const { etag } = await store.put('del', 'x');
        await store.delete('del', { ifMatch: etag });
        expect(await store.get('del')).toBeNull();
      });

      if (options.conditionalDelete !== false) {
        test('delete with a stale ETag fails and keeps the object', async (store) => {
          const first = await store.put('del2', 'x');
          await store.put('del2', 'y');
          await expectPreconditionFailed(store.delete('del2', { ifMatch: first.etag }));
          expect(await store.get('del2')).not.toBeNull();
        });
      }

      test('16 concurrent create-only writers: exactly one wins, the others get PRECONDITION_FAILED', async (store) => {
        for (let round = 0; round < 3; round++) {
          const key = `race-create-${round}`;
          const bodies = Array.from({ length: 16 }, (_, i) => `writer ${i} ${createNonce()}`);
          const results = await Promise.allSettled(
            bodies.map((body) => store.put(key, body, { ifNoneMatch: '*' })),
          );
          const winners = results.flatMap((result, i) => (result.status === 'fulfilled' ? [i] : []));
          expect(winners).toHaveLength(1);
          for (const result of results) {
            if (result.status === 'rejected') expect(isPreconditionFailed(result.reason)).toBe(true);
          }
          const object = await store.get(key);
          expect(new TextDecoder().decode(object!.body)).toBe(bodies[winners[0]!]);
          expect(object!.etag).toBe(
            (results[winners[0]!] as PromiseFulfilledResult<{ etag: string }>).value.etag,
          );
        }
      });

      test('16 concurrent compare-and-swap writers: exactly one wins, the others get PRECONDITION_FAILED', async (store) => {
        const key = 'race-cas';
        let { etag } = await store.put(key, `start ${createNonce()}`);
        for (let round = 0; round < 3; round++) {
          const bodies = Array.from({ length: 16 }, (_, i) => `round ${round} writer ${i} ${createNonce()}`);
          const results = await Promise.allSettled(
            bodies.map((body) => store.put(key, body, { ifMatch: etag })),
          );
          const winners = results.flatMap((result, i) => (result.status === 'fulfilled' ? [i] : []));
          expect(winners).toHaveLength(1);
          for (const result of results) {
            if (result.status === 'rejected') expect(isPreconditionFailed(result.reason)).toBe(true);
          }
          const object = await store.get(key);
          expect(new TextDecoder().decode(object!.body)).toBe(bodies[winners[0]!]);
          etag = object!.etag;
        }
      });
    });

    describe('list', () => {
      test('lists keys under a prefix in ascending order with ETag and size', async (store) => {
        const keys = ['p/b', 'p/a', 'p/c/d', 'q/a', 'p-', 'p/a/b'];
        for (const key of keys) await store.put(key, key);
        const page = await store.list('p/');
        expect(page.objects.map((object) => object.key)).toEqual(['p/a', 'p/a/b', 'p/b', 'p/c/d']);
        expect(page.commonPrefixes).toEqual([]);
        expect(page.nextStartAfter).toBeUndefined();
        const a = page.objects[0]!;
        expect(a.size).toBe(3);
        expect(a.etag).toBe((await store.head('p/a'))!.etag);
        expect((await store.list('none/')).objects).toEqual([]);
      });

      test('keys sort in UTF-8 byte order, not UTF-16 order', async (store) => {
        const keys = ['u/a', 'u/z', 'u/é', 'u/中', 'u/😀', 'u/\uFFFD', 'u/\uE000', 'u/A', 'u/~', 'u/ '];
        await inBatches(keys, 16, (key) => store.put(key, 'x'));
        const listed = (await store.list('u/')).objects.map((object) => object.key);
        const expected = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
        expect(listed).toEqual(expected);
      });

      test('limit and startAfter page through the keys', async (store) => {
        const keys = Array.from({ length: 7 }, (_, i) => `page/${String(i).padStart(2, '0')}`);
        for (const key of keys) await store.put(key, 'x');
        const seen: string[] = [];
        let startAfter: string | undefined;
        let pages = 0;
        do {
          const page = await store.list('page/', {
            limit: 3,
            ...(startAfter === undefined ? {} : { startAfter }),
          });
          expect(page.objects.length).toBeLessThanOrEqual(3);
          seen.push(...page.objects.map((object) => object.key));
          startAfter = page.nextStartAfter;
          pages++;
        } while (startAfter !== undefined && pages < 10);
        expect(seen).toEqual(keys);
        expect(pages).toBe(3);
        const after = await store.list('page/', { startAfter: 'page/04' });
        expect(after.objects.map((object) => object.key)).toEqual(['page/05', 'page/06']);
      });

      test(
        'pages past 1,000 keys',
        async (store) => {
          const keys = Array.from({ length: 1050 }, (_, i) => `many/${String(i).padStart(4, '0')}`);
          await inBatches(keys, 32, (key) => store.put(key, ''));
          const first = await store.list('many/');
          expect(first.objects).toHaveLength(1000);
          expect(first.nextStartAfter).toBe(keys[999]);
          const second = await store.list('many/', { startAfter: first.nextStartAfter! });
          expect(second.objects.map((object) => object.key)).toEqual(keys.slice(1000));
          expect(second.nextStartAfter).toBeUndefined();
          const all: string[] = [];
          for await (const object of listAll(store, 'many/')) all.push(object.key);
          expect(all).toEqual(keys);
        },
        Math.max(timeout, 120_000),
      );

      test('a delimiter groups deeper keys into common prefixes', async (store) => {
        for (const key of ['t/a/1', 't/a/2', 't/b', 't/c/1', 't/d']) await store.put(key, 'x');
        const page = await store.list('t/', { delimiter: '/' });
        expect(page.objects.map((object) => object.key)).toEqual(['t/b', 't/d']);
        expect(page.commonPrefixes).toEqual(['t/a/', 't/c/']);
      });

      test('pages with a delimiter never repeat a group', async (store) => {
        const keys = ['g/a/1', 'g/a/2', 'g/a/3', 'g/b', 'g/c/1', 'g/c/2', 'g/d', 'g/e/1'];
        for (const key of keys) await store.put(key, 'x');
        const objects: string[] = [];
        const groups: string[] = [];
        let startAfter: string | undefined;
        for (let pages = 0; pages < 10; pages++) {
          const page = await store.list('g/', {
            delimiter: '/',
            limit: 2,
            ...(startAfter === undefined ? {} : { startAfter }),
          });
          expect(page.objects.length + page.commonPrefixes.length).toBeLessThanOrEqual(2);
          objects.push(...page.objects.map((object) => object.key));
          groups.push(...page.commonPrefixes);
          startAfter = page.nextStartAfter;
          if (startAfter === undefined) break;
        }
        expect(objects).toEqual(['g/b', 'g/d']);
        expect(groups).toEqual(['g/a/', 'g/c/', 'g/e/']);
      });
    });

    describe('keys', () => {
      test('long keys (close to the 1,024-byte limit) and unicode keys work', async (store) => {
        const long = `long/${'x'.repeat(600)}-${'é'.repeat(50)}`;
        const unicode = 'uni/作业/😀 ünïcødé/Ω';
        await store.put(long, 'L', { ifNoneMatch: '*' });
        await store.put(unicode, 'U', { ifNoneMatch: '*' });
        expect(new TextDecoder().decode((await store.get(long))!.body)).toBe('L');
        expect(new TextDecoder().decode((await store.get(unicode))!.body)).toBe('U');
        expect((await store.list('long/')).objects.map((object) => object.key)).toEqual([long]);
        expect((await store.list('uni/')).objects.map((object) => object.key)).toEqual([unicode]);
        await expectPreconditionFailed(store.put(unicode, 'V', { ifNoneMatch: '*' }));
      });

      test('a key over 1,024 bytes is refused with INVALID_KEY', async (store) => {
        const error = await store.put(`huge/${'x'.repeat(1100)}`, 'x').catch((e: unknown) => e);
        expect(isSchedulerError(error) && error.code).toBe('INVALID_KEY');
      });
    });
  });
}

async function expectPreconditionFailed(promise: Promise<unknown>): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected PRECONDITION_FAILED, but the write succeeded').toBeDefined();
  expect(isPreconditionFailed(error), `expected PRECONDITION_FAILED, got ${String(error)}`).toBe(true);
}

async function inBatches<T>(
  items: readonly T[],
  size: number,
  run: (item: T) => Promise<unknown>,
): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(run));
}
