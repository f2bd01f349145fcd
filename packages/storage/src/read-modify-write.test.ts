import { describe, expect, it } from 'vitest';
import { MemoryStore } from './memory/memory-store.js';
import { readModifyWrite } from './read-modify-write.js';

async function readJson(store: MemoryStore, key: string) {
  const object = await store.get(key);
  return (
    object && { value: JSON.parse(new TextDecoder().decode(object.body)) as { n: number }, etag: object.etag }
  );
}

describe('readModifyWrite', () => {
  it('creates, changes, and starts over when another writer came in between', async () => {
    const store = new MemoryStore();
    const increment = () =>
      readModifyWrite(store, 'k', {
        read: () => readJson(store, 'k'),
        fresh: () => ({ n: 0 }),
        change: (value) => {
          value.n++;
          return true;
        },
      });
    await Promise.all([increment(), increment(), increment()]);
    expect((await readJson(store, 'k'))?.value).toEqual({ n: 3 });
    const unchanged = await readModifyWrite(store, 'k', {
      read: () => readJson(store, 'k'),
      fresh: () => ({ n: 0 }),
      change: () => false,
    });
    expect(unchanged).toEqual({ value: { n: 3 }, etag: null });
  });

  it('throws the precondition failure after maxAttempts lost races', async () => {
    const store = new MemoryStore();
    await store.put('k', JSON.stringify({ n: 0 }));
    let reads = 0;
    const attempt = readModifyWrite(store, 'k', {
      // A stale ETag every time: every write loses.
      read: async () => {
        reads++;
        return { value: { n: 0 }, etag: '"stale"' };
      },
      fresh: () => ({ n: 0 }),
      change: () => true,
      maxAttempts: 3,
    });
    await expect(attempt).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
    expect(reads).toBe(3);
  });
});
