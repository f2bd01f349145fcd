import { describe, expect, it } from 'vitest';
import type { OverlapPolicy } from '../types.js';
import { decideOverlap } from './overlap-policy.js';

describe('decideOverlap', () => {
  const job = (overlap: OverlapPolicy) => ({ overlap, bufferLimit: 7 });

  it('runs an idle job whatever its policy', () => {
    for (const overlap of [
      'allow',
      'skip',
      'buffer-one',
      'buffer-all',
      'cancel-other',
      'terminate-other',
    ] as const)
      expect(decideOverlap(job(overlap), false, 'schedule')).toEqual({ action: 'run' });
  });

  it('applies the policy to a busy job', () => {
    expect(decideOverlap(job('allow'), true, 'schedule')).toEqual({ action: 'run' });
    expect(decideOverlap(job('skip'), true, 'schedule')).toEqual({ action: 'skip' });
    expect(decideOverlap(job('buffer-one'), true, 'schedule')).toEqual({ action: 'buffer', limit: 1 });
    expect(decideOverlap(job('buffer-all'), true, 'schedule')).toEqual({ action: 'buffer', limit: 7 });
    expect(decideOverlap(job('cancel-other'), true, 'schedule')).toEqual({
      action: 'cancel-then-buffer',
      limit: 1,
    });
    expect(decideOverlap(job('terminate-other'), true, 'schedule')).toEqual({ action: 'terminate-then-run' });
  });

  it('queues caught-up slots behind a running run unless the job allows overlap', () => {
    expect(decideOverlap(job('skip'), true, 'catch-up')).toEqual({ action: 'buffer', limit: 7 });
    expect(decideOverlap(job('terminate-other'), true, 'catch-up')).toEqual({ action: 'buffer', limit: 7 });
    expect(decideOverlap(job('allow'), true, 'catch-up')).toEqual({ action: 'run' });
  });
});
