import { describe, expect, it } from 'vitest';
import { DEFAULTS, parseArgs } from './args.js';

describe('parseArgs: the default leader kill of a plain run', () => {
  it('a run without a terminal kills the leader once, at 40% of its duration, so the output shows a hand-over', () => {
    const options = parseArgs([], false);
    expect(options.durationMs).toBe(DEFAULTS.nonInteractiveDurationMs);
    expect(options.killLeaderAt).toEqual([8_000]);
    expect(parseArgs(['--duration', '30s'], false).killLeaderAt).toEqual([12_000]);
    // --plain or --json on a terminal with a duration is a plain run too.
    expect(parseArgs(['--plain', '--duration', '10s'], true).killLeaderAt).toEqual([4_000]);
  });

  it('no default kill with a scripted fault, --no-faults, or on a terminal', () => {
    expect(parseArgs(['--kill-leader-at', '3s'], false).killLeaderAt).toEqual([3_000]);
    expect(parseArgs(['--pause-at', '3s'], false).killLeaderAt).toEqual([]);
    expect(parseArgs(['--no-faults'], false).killLeaderAt).toEqual([]);
    expect(parseArgs([], true).killLeaderAt).toEqual([]);
    expect(parseArgs(['--duration', '10s'], true).killLeaderAt).toEqual([]);
  });
});
