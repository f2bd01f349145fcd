import { describe, expect, it } from 'vitest';
import { ForwardingStore } from '../forwarding-store.js';
import { MemoryStore } from '../memory/memory-store.js';
import { GatedStore } from './gated-store.js';

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('GatedStore', () => {
  it('forwards requests and counts those in flight', async () => {
    let answer: () => void = () => undefined;
    class SlowStore extends ForwardingStore {
      protected override async around<T>(operation: string, _key: string, request: () => Promise<T>) {
        if (operation === 'put') {
          await new Promise<void>((resolve) => {
            answer = resolve;
          });
        }
        return request();
      }
    }
    const gated = new GatedStore(new SlowStore(new MemoryStore()));
    const put = gated.put('a', 'x');
    await turn();
    expect(gated.inflight).toBe(1);
    answer();
    await put;
    expect(gated.inflight).toBe(0);
    expect(new TextDecoder().decode((await gated.get('a'))!.body)).toBe('x');
  });

  it('holds requests while paused and lets them through on resume', async () => {
    const inner = new MemoryStore();
    const gated = new GatedStore(inner);
    gated.pause();
    let done = false;
    const put = gated.put('a', 'x').then(() => {
      done = true;
    });
    await turn();
    expect(done).toBe(false);
    expect(await inner.get('a')).toBeNull();
    gated.resume();
    await put;
    expect(done).toBe(true);
    expect(await inner.get('a')).not.toBeNull();
  });

  it('after kill, requests hang forever and nothing more is written', async () => {
    const inner = new MemoryStore();
    const gated = new GatedStore(inner);
    gated.kill();
    let settled = false;
    void gated.put('a', 'x').finally(() => {
      settled = true;
    });
    for (let i = 0; i < 5; i++) await turn();
    expect(settled).toBe(false);
    expect(await inner.get('a')).toBeNull();
    expect(gated.inflight).toBe(0);
  });
});
