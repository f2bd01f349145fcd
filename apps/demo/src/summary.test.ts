import type { RunRecord } from '@s3-scheduler/history';
import { describe, expect, it } from 'vitest';
import { formatSummary, type SummaryInput, summarize } from './summary.js';

const T0 = Date.parse('2026-03-01T12:00:00.500Z');
const at = (seconds: number) => new Date(Date.parse('2026-03-01T12:00:00Z') + seconds * 1000).toISOString();

function run(slotSeconds: number, overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    key: `k${slotSeconds}`,
    job: 'tick',
    slot: at(slotSeconds),
    runId: `run-${slotSeconds}`,
    status: 'completed',
    trigger: 'schedule',
    epoch: 1,
    workerId: 'node-a',
    attempts: 1,
    startedAt: at(slotSeconds),
    finishedAt: at(slotSeconds),
    durationMs: 5,
    result: null,
    error: null,
    updatedAt: at(slotSeconds),
    ...overrides,
  };
}

function input(records: RunRecord[], overrides: Partial<SummaryInput> = {}): SummaryInput {
  return {
    store: 'memory://test/',
    mode: 'in-process',
    instances: ['node-a', 'node-b'],
    jobs: { tick: { schedule: '*/5 * * * * *' } },
    jobsSince: new Map([['tick', T0 - 1000]]),
    addedJobs: new Set(),
    records,
    executions: [],
    promotions: [{ workerId: 'node-a', epoch: 1, at: T0 }],
    startedAt: T0 - 1000,
    // Slots 5 … 30 are expected; 35 is too close to the end.
    endedAt: T0 + 34_600,
    ...overrides,
  };
}

describe('summarize', () => {
  it('expects every slot after the first election until shortly before the end', () => {
    const summary = summarize(input([5, 10, 15, 20, 25, 30].map((s) => run(s))));
    expect(summary.jobs.tick!.expectedSlots).toBe(6);
    expect(summary.totals).toMatchObject({ missed: 0, duplicated: 0, notRunByPolicy: 0, runs: 6 });
    expect(summary.ok).toBe(true);
  });

  it('a gap closed by a catch-up run is the latest policy at work; any other gap is missed', () => {
    const records = [
      run(5),
      run(20, { trigger: 'catch-up', workerId: 'node-b', epoch: 2 }),
      run(30, { workerId: 'node-b', epoch: 2 }),
    ];
    const summary = summarize(input(records));
    expect(summary.jobs.tick!.notRunByPolicy).toEqual([at(10), at(15)]);
    expect(summary.jobs.tick!.missed).toEqual([at(25)]);
    expect(summary.ok).toBe(false);
    expect(summary.epochChanged).toBe(true);
    expect(summary.runsPerInstance).toEqual({ 'node-a': 1, 'node-b': 2 });
  });

  it("shows the scheduler's missed reports, and the slots neither run nor reported", () => {
    const records = [run(5), run(20, { trigger: 'catch-up', workerId: 'node-b', epoch: 2 }), run(30)];
    const silent = summarize(input(records));
    expect(silent.jobs.tick!.unreported).toEqual([at(10), at(15), at(25)]);
    expect(silent.totals).toMatchObject({ reportedMissed: 0, unreported: 3 });
    const reported = summarize(
      input(records, {
        missedReports: [at(10), at(15)].map((slot) => ({ job: 'tick', slot, count: 1, workerId: 'node-b' })),
      }),
    );
    expect(reported.jobs.tick).toMatchObject({ reportedMissed: 2, unreported: [at(25)] });
    expect(formatSummary(reported)).toContain('reported missed by the scheduler (job-skipped): 2');
    // One summary report with a count covers the whole gap up to its slot.
    const summarized = summarize(
      input(records, { missedReports: [{ job: 'tick', slot: at(25), count: 3, workerId: 'node-b' }] }),
    );
    expect(summarized.jobs.tick).toMatchObject({ reportedMissed: 3, unreported: [] });
  });

  it('with catchUp all, no gap is excused', () => {
    const records = [run(5), run(20, { trigger: 'catch-up' }), run(25), run(30)];
    const summary = summarize(
      input(records, { jobs: { tick: { schedule: '*/5 * * * * *', catchUp: 'all' } } }),
    );
    expect(summary.jobs.tick!.missed).toEqual([at(10), at(15)]);
  });

  it('counts a slot twice when an action ran under a second run id, recorded or not', () => {
    const records = [5, 10, 15, 20, 25, 30].map((s) => run(s));
    const summary = summarize(
      input(records, {
        executions: [
          { job: 'tick', slot: at(10), runId: 'run-10', source: 'marker' },
          { job: 'tick', slot: at(10), runId: 'run-10', source: 'counter' },
          { job: 'tick', slot: at(15), runId: 'other', source: 'counter' },
        ],
      }),
    );
    expect(summary.jobs.tick!.duplicated).toEqual([at(15)]);
    expect(summary.totals.executionsWithoutRecord).toBe(1);
    expect(summary.ok).toBe(false);
  });

  it('an overlap-skipped slot is handled, not missed, and not a run', () => {
    const records = [5, 10, 15, 20, 25, 30].map((s) => run(s, s === 15 ? { status: 'skipped' } : {}));
    const summary = summarize(input(records));
    expect(summary.totals.missed).toBe(0);
    expect(summary.jobs.tick!.runs).toBe(5);
    expect(summary.jobs.tick!.byStatus.skipped).toBe(1);
  });

  it('slots after every instance was killed are missed for want of an instance, apart, and do not fail the run', () => {
    // The last live instance died at 17 s: 20, 25 and 30 could not run; 10 and 15 were lost.
    const records = [run(5)];
    const summary = summarize(input(records, { allDownAt: T0 + 16_500 }));
    expect(summary.jobs.tick!.missedNoInstance).toEqual([at(20), at(25), at(30)]);
    expect(summary.jobs.tick!.missed).toEqual([at(10), at(15)]);
    expect(summary.totals).toMatchObject({ missed: 2, missedNoInstance: 3 });
    expect(summary.jobs.tick!.unreported).toEqual([at(10), at(15)]);
    expect(summary.ok).toBe(false);
    const text = formatSummary(summary);
    expect(text).toMatch(/no instance alive after 12:00:17\.000 .*: 3 slots could not run/);
    // Only the lost slots fail a run: with 10 and 15 run, it is OK.
    const ok = summarize(input([run(5), run(10), run(15)], { allDownAt: T0 + 16_500 }));
    expect(ok.totals).toMatchObject({ missed: 0, missedNoInstance: 3 });
    expect(ok.ok).toBe(true);
  });
});
