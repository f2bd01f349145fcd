import { ManualClock } from '@s3-scheduler/core/testing';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../memory/memory-store.js';
import { LateAnswers } from './late-answers.js';

describe('LateAnswers', () => {
  it('applies the next matching puts at once and answers them delayMs later; the rest pass', async () => {
    const clock = new ManualClock();
    const memory = new MemoryStore();
    const store = new LateAnswers(memory, clock, 1000, 'locks/');
    store.late = 1;
    let answered = false;
    const put = store.put('locks/a', 'x').then((result) => {
      answered = true;
      return result;
    });
    await clock.advance(999);
    expect(new TextDecoder().decode((await memory.get('locks/a'))!.body)).toBe('x'); // applied
    expect(answered).toBe(false);
    await clock.advance(1);
    expect(answered).toBe(true);
    expect((await put).etag).toBe((await memory.head('locks/a'))!.etag);
    expect(store.late).toBe(0);
    // Spent: answered with no time passing; and a key outside the prefix is never delayed.
    await store.put('locks/a', 'y');
    store.late = 1;
    await store.put('other', 'z');
    await store.get('locks/a');
    expect(store.late).toBe(1);
    expect(clock.monotonic()).toBe(1000);
  });
});
