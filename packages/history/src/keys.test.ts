import { compareKeys } from '@s3-scheduler/storage';
import { describe, expect, it } from 'vitest';
import {
  daySegment,
  HistoryKeys,
  keyShardOf,
  olderDaysBound,
  STATS_SHARDS,
  statsShardOf,
  strictlyAfterBound,
  strictlyBeforeBound,
  timeSegment,
} from './keys.js';
import { DAY_MS } from './time.js';

const keys = new HistoryKeys('history/');
const instants = (() => {
  const out = [0, 1, DAY_MS - 1, DAY_MS, Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 1) - 1, 9_999_999_999_999];
  let x = 12345;
  for (let i = 0; i < 300; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    out.push(Date.UTC(2025, 0, 1) + (x % (400 * DAY_MS)));
  }
  return out;
})();

describe('key layout', () => {
  it('sorts run keys newest first across days, whatever the instants', () => {
    const sorted = [...instants].sort((a, b) =>
      compareKeys(keys.run('job', { slotMs: a }), keys.run('job', { slotMs: b })),
    );
    for (let i = 1; i < sorted.length; i++) expect(sorted[i - 1]!).toBeGreaterThanOrEqual(sorted[i]!);
  });

  it('keeps the readable UTC date in the day partition, after the job and its shard', () => {
    const at = Date.parse('2026-03-04T05:06:07.089Z');
    expect(keys.run('job', { slotMs: at })).toBe(
      `history/runs-by-shard/2e-job/${999_999 - 20_516}-2026-03-04/${timeSegment(at)}.s`,
    );
    // The legacy layout: byte for byte the keys versions before the sharded layout wrote.
    expect(keys.run('job', { slotMs: at }, 'legacy')).toBe(
      `history/runs/job/979483-2026-03-04/${timeSegment(at)}.s`,
    );
    expect(daySegment(0)).toBe('999999-1970-01-01');
  });

  it('puts manual runs beside slots of the same millisecond without colliding', () => {
    const slot = keys.run('job', { slotMs: 5000 });
    const manual = keys.run('job', { runId: '0000000005ABCDEFGHJKMNPQRS', runIdMs: 5000 });
    expect(slot).not.toBe(manual);
    expect(manual.slice(0, -29)).toBe(slot.slice(0, -2));
  });

  it('bounds split keys exactly at an instant', () => {
    const root = keys.runs('job');
    for (const bound of instants.slice(0, 60)) {
      const before = root + strictlyBeforeBound(bound);
      const after = root + strictlyAfterBound(bound);
      for (const at of instants.slice(0, 60).concat([bound - 1, bound + 1].filter((v) => v >= 0))) {
        for (const key of [
          keys.run('job', { slotMs: at }),
          keys.run('job', { runId: '01ARZ3NDEKTSV4RRFFQ69G5FAV', runIdMs: at }),
        ]) {
          expect(compareKeys(key, before) > 0).toBe(at < bound);
          expect(compareKeys(key, after) < 0).toBe(at > bound);
        }
      }
    }
  });

  it('selects the day partitions strictly older than the day of the cutoff', () => {
    const cutoff = Date.UTC(2026, 0, 10, 12);
    const bound = keys.runs('job') + olderDaysBound(cutoff);
    for (const at of instants) {
      const day = `${keys.runs('job')}${daySegment(at)}/`;
      expect(compareKeys(day, bound) > 0).toBe(Math.floor(at / DAY_MS) < Math.floor(cutoff / DAY_MS));
    }
  });

  it('keeps any job name inside its own partition', () => {
    for (const job of ['a/b', '..', '../../x', 'ünï/cödé', 'x'.repeat(1024), 'job%2F', '*']) {
      const key = keys.run(job, { slotMs: 1000 });
      expect(key.split('/')).toHaveLength(5);
      expect(key.length).toBeLessThan(300);
      expect(keys.index(job, 'failed').split('/')).toHaveLength(5);
      expect(keys.run(job, { slotMs: 1000 }, 'legacy').split('/')).toHaveLength(5);
    }
    expect(keys.runs('a/b')).not.toBe(keys.runs('a%2Fb'));
    expect(keys.runs('x'.repeat(1024))).not.toBe(keys.runs(`${'x'.repeat(1023)}y`));
  });

  it('maps index entries back to their run, in the layout of the run, and refuses foreign keys', () => {
    const run = keys.run('job', { slotMs: 123_456 });
    const entry = keys.indexEntry('job', run, 'failed');
    expect(entry.startsWith('history/idx-by-shard/2e-job/failed/')).toBe(true);
    expect(keys.runKeyFromListed('job', keys.index('job', 'failed'), entry)).toBe(run);
    expect(keys.runKeyFromListed('job', keys.runs('job'), `${keys.runs('job')}junk`)).toBeUndefined();
    expect(() => keys.indexEntry('other', run, 'failed')).toThrow(/not a run key/);
    const legacyRun = keys.run('job', { slotMs: 123_456 }, 'legacy');
    const legacyEntry = keys.indexEntry('job', legacyRun, 'failed');
    expect(legacyEntry).toBe(`history/idx/job/failed/${legacyRun.slice('history/runs/job/'.length)}`);
    expect(keys.runKeyFromListed('job', keys.index('job', 'failed', 'legacy'), legacyEntry)).toBe(legacyRun);
    expect(keys.parseListed('job', keys.runs('job', 'legacy'), keys.marker(legacyRun, 'failed'))).toEqual({
      runKey: legacyRun,
      marked: 'failed',
    });
    expect([keys.layoutOf(run), keys.layoutOf(entry), keys.layoutOf(legacyRun)]).toEqual([
      'sharded',
      'sharded',
      'legacy',
    ]);
  });

  it('puts a two-hex-digit shard of the job ahead of its name, the same on every version', () => {
    // Pinned: these are stored keys. A change here would lose the runs written before it.
    expect(['job', 'report', 'a/b', 'nightly-backup'].map(keyShardOf)).toEqual(['2e', 'a2', 'fd', '71']);
    expect(keys.runs('a/b')).toBe('history/runs-by-shard/fd-a%2Fb/');
    expect(keys.index('report', 'failed')).toBe('history/idx-by-shard/a2-report/failed/');
    expect(keys.runs('a/b', 'legacy')).toBe('history/runs/a%2Fb/');
    // 10,000 jobs cover the 256 shards, none with more than twice its share.
    const counts = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const shard = keyShardOf(`job-${i}`);
      expect(shard).toMatch(/^[0-9a-f]{2}$/);
      counts.set(shard, (counts.get(shard) ?? 0) + 1);
    }
    expect(counts.size).toBe(256);
    expect(Math.max(...counts.values())).toBeLessThan((2 * 10_000) / 256);
  });

  it('puts a marker right after its run key, before any other run of the job', () => {
    const newer = keys.run('job', { slotMs: 2_000_000 });
    const older = keys.run('job', { slotMs: 1_000_000 });
    const manual = keys.run('job', { runId: '01KB0000000000000000000000', runIdMs: 2_000_000 });
    const marker = keys.marker(newer, 'failed');
    const sorted = [older, manual, marker, newer].sort(compareKeys);
    expect(sorted.indexOf(marker)).toBe(sorted.indexOf(newer) + 1);
    expect(keys.parseListed('job', keys.runs('job'), marker)).toEqual({ runKey: newer, marked: 'failed' });
    expect(keys.parseListed('job', keys.runs('job'), newer)).toEqual({ runKey: newer });
    expect(keys.parseListed('job', keys.runs('job'), `${newer}~completed`)).toBeUndefined();
    expect(keys.parseListed('job', keys.runs('job'), `${keys.runs('job')}junk`)).toBeUndefined();
  });

  it('spreads jobs over the statistics shards, the same shard for a job everywhere', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 400; i++) seen.add(statsShardOf(`job-${i}`));
    expect(seen.size).toBe(STATS_SHARDS);
    expect(statsShardOf('report')).toBe(statsShardOf('report'));
    expect(keys.stats('report')).toBe(`history/stats/shards/${statsShardOf('report')}.json`);
    // Never the key of an older version's per-job document (those have no second slash).
    expect(keys.stats('shards')).not.toBe('history/stats/shards.json');
  });
});
