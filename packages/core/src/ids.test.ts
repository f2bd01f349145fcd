import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createNonce, createRunId, createWorkerId, runIdTime } from './ids.js';
import { hashString, seededRandom } from './random.js';

describe('createRunId', () => {
  it('is 26 Crockford base32 characters carrying its time', () => {
    const id = createRunId(Date.UTC(2026, 10, 26, 12));
    expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(runIdTime(id)).toBe(Date.UTC(2026, 10, 26, 12));
  });

  it('sorts in time order, also within one millisecond', () => {
    const ids: string[] = [];
    for (let i = 0; i < 1000; i++) ids.push(createRunId(1_700_000_000_000 + Math.floor(i / 100)));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('createWorkerId', () => {
  it('keeps a safe form of the label and differs between calls', () => {
    const a = createWorkerId('web 1/../x');
    const b = createWorkerId('web 1/../x');
    expect(a).toMatch(/^web-1-\.\.-x-[0-9a-z]+-[0-9a-f]{8}$/);
    expect(a).not.toBe(b);
  });

  it('differs between two processes on the same host', () => {
    const script = "import('./dist/ids.js').then(m => console.log(m.createWorkerId('same-host')))";
    const run = () =>
      spawnSync(process.execPath, ['-e', script], { cwd: new URL('..', import.meta.url) })
        .stdout.toString()
        .trim();
    const first = run();
    const second = run();
    expect(first).toMatch(/^same-host-/);
    expect(second).toMatch(/^same-host-/);
    expect(first).not.toBe(second);
  });
});

describe('createNonce', () => {
  it('is unique', () => {
    expect(new Set(Array.from({ length: 100 }, createNonce)).size).toBe(100);
  });
});

describe('seededRandom and hashString', () => {
  it('reproduces the same sequence from the same seed', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const seqA = Array.from({ length: 5 }, a);
    expect(Array.from({ length: 5 }, b)).toEqual(seqA);
    expect(Array.from({ length: 5 }, c)).not.toEqual(seqA);
    for (const value of seqA) {
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(1);
    }
  });

  it('hashes strings stably', () => {
    expect(hashString('job:2026-01-01T00:00:00Z')).toBe(hashString('job:2026-01-01T00:00:00Z'));
    expect(hashString('a')).not.toBe(hashString('b'));
  });
});

describe('closestMatch', () => {
  it('suggests the nearest known name for a typo, and nothing for unrelated input', async () => {
    const { closestMatch } = await import('./closest-match.js');
    expect(closestMatch('retry', ['retries', 'timeout'])).toBe('retries');
    expect(closestMatch('timout', ['retries', 'timeout'])).toBe('timeout');
    expect(closestMatch('Schedule', ['schedule'])).toBe('schedule');
    expect(closestMatch('zzzzzz', ['retries', 'timeout'])).toBeUndefined();
  });
});
