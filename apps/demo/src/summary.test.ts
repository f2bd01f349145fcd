import { runCli } from '@s3-scheduler/cli';
import { ManualClock } from '@s3-scheduler/core/testing';
import {
  ClusterReadModel,
  DEFAULT_KEY_PREFIX,
  type HistoryEntry,
  SchedulerPlugin,
} from '@s3-scheduler/plugin';
import { MemoryStore, PrefixedStore } from '@s3-scheduler/storage';
import { describe, expect, it } from 'vitest';
import { formatSummary, readAllRuns, type SummaryInput, summarize } from './summary.js';

const T0 = Date.parse('2026-03-01T12:00:00.500Z');
const at = (seconds: number) => new Date(Date.parse('2026-03-01T12:00:00Z') + seconds * 1000).toISOString();

function run(slotSeconds: number, overrides: Partial<HistoryEntry> = {}): HistoryEntry {
  return {
    id: `run-${slotSeconds}`,
    jobName: 'tick',
    slot: at(slotSeconds),
    status: 'completed',
    trigger: 'schedule',
    epoch: 1,
    workerId: 'node-a',
    attempts: 1,
    retryCount: 0,
    startTime: at(slotSeconds),
    started_at: at(slotSeconds),
    endTime: at(slotSeconds),
    duration: 5,
    result: null,
    error: null,
    errorDetail: null,
    ...overrides,
  };
}

function input(records: HistoryEntry[], overrides: Partial<SummaryInput> = {}): SummaryInput {
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

describe('the summary reads through the cluster read model, as the CLI does', () => {
  it('reads the same runs as `s3-scheduler history` and counts them', async () => {
    const clock = new ManualClock({ now: Date.parse('2026-03-01T12:00:00Z') });
    // A demo run's prefix, the plugin under it with its default keyPrefix.
    const root = new PrefixedStore(new MemoryStore({ clock }), 'demo-run/');
    const plugin = new SchedulerPlugin({
      store: root,
      clock,
      workerId: 'node-a',
      heartbeatInterval: 1000,
      coldStartObservationWindow: 1500,
      logger: null,
      jobs: { tick: { schedule: '*/5 * * * * *', action: () => undefined } },
    });
    await plugin.start();
    for (let i = 0; i < 60; i++) await clock.advance(1000);
    await plugin.stop();
    const model = new ClusterReadModel(root, { keyPrefix: DEFAULT_KEY_PREFIX, clock });
    const records = await readAllRuns(model, ['tick']);
    let printed = '';
    const code = await runCli(
      ['--key-prefix', DEFAULT_KEY_PREFIX, 'history', 'tick', '--limit', '1000', '--json'],
      {
        stdout: { write: (text: string) => (printed += text) },
        stderr: { write: () => undefined },
        env: {},
        store: root,
        clock,
      },
    );
    expect(code).toBe(0);
    const cli = JSON.parse(printed) as { runs: HistoryEntry[] };
    expect(records.length).toBeGreaterThanOrEqual(10);
    expect(records).toEqual(cli.runs);
    const summary = summarize({
      ...input(records),
      instances: ['node-a'],
      jobsSince: new Map([['tick', Date.parse('2026-03-01T12:00:00Z')]]),
      promotions: [{ workerId: 'node-a', epoch: 1, at: Date.parse(records.at(-1)!.slot!) - 1 }],
      startedAt: Date.parse('2026-03-01T12:00:00Z'),
      endedAt: clock.now(),
    });
    expect(summary.jobs.tick!.runs).toBe(cli.runs.filter((run) => run.status !== 'skipped').length);
    expect(summary.runsPerInstance['node-a']).toBe(summary.jobs.tick!.runs);
  });
});
