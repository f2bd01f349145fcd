import { Writable } from 'node:stream';
import type { Clock } from '@s3-scheduler/core';
import { ManualClock } from '@s3-scheduler/core/testing';
import { s3TestBackend, s3TestEnv } from '@s3-scheduler/storage/testing';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, type DemoOptions } from './args.js';
import { runDemo } from './demo.js';

/** Collects what the demo prints. */
function collector(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

/** A short real-time run: 500 ms heartbeats (1.5 s lease), the leader killed once. */
function shortRun(overrides: Partial<DemoOptions> = {}): DemoOptions {
  return {
    instances: 3,
    durationMs: 12_000,
    store: DEFAULTS.store,
    processes: false,
    heartbeatMs: 500,
    coldStartMs: 750,
    killLeaderAt: [5_000],
    pauseAt: [],
    pauseForMs: DEFAULTS.pauseForMs,
    triggers: [],
    addJobs: [],
    json: true,
    plain: true,
    help: false,
    ...overrides,
  };
}

async function runAndCheck(options: DemoOptions, clock?: Clock) {
  const out = collector();
  const summaryOut = collector();
  const { summary, exitCode } = await runDemo(options, {
    out: out.stream,
    summaryOut: summaryOut.stream,
    interactive: false,
    ...(clock ? { clock } : {}),
  });
  const printed = JSON.parse(summaryOut.text());
  expect(printed.totals).toEqual(summary.totals);
  const context = `${out.text()}\n${JSON.stringify(summary, null, 2)}`;
  // The leader was killed once: a second leader took over under a higher epoch.
  expect(out.text(), context).toMatch(/killed/);
  expect(summary.leaderTerms.length, context).toBeGreaterThanOrEqual(2);
  expect(summary.epochChanged, context).toBe(true);
  expect(summary.epochsInHistory.length, context).toBeGreaterThanOrEqual(2);
  // Runs happened on both sides of the hand-over, on at least two instances.
  expect(summary.totals.expectedSlots, context).toBeGreaterThanOrEqual(4);
  expect(summary.instancesThatRan, context).toBeGreaterThanOrEqual(2);
  // The guarantee, judged from the stored history and the execution markers.
  expect(summary.totals.duplicated, context).toBe(0);
  expect(summary.totals.missed, context).toBe(0);
  expect(summary.totals.executionsWithoutRecord, context).toBe(0);
  expect(summary.ok).toBe(true);
  expect(exitCode).toBe(0);
  return summary;
}

describe('the demo, non-interactive', () => {
  it('in one process: kills the leader once; no slot twice, none missed', async () => {
    // On the manual clock: the same 12 s script, as fast as the machine allows and the same
    // on a busy one. Bounded in simulated time: the run ends at 12 s plus the final wait for a
    // leader and the graceful stop.
    const clock = new ManualClock({ now: Date.parse('2026-03-01T12:00:00Z') });
    let finished = false;
    const run = runAndCheck(shortRun(), clock);
    const done = run.then(
      () => {
        finished = true;
      },
      () => {
        finished = true;
      },
    );
    for (let simulated = 0; !finished && simulated < 10 * 60_000; simulated += 100) await clock.advance(100);
    expect(finished, `the demo had not finished after 10 simulated minutes (at ${clock.now()})`).toBe(true);
    await done;
    await run;
  });
});

describe('the demo with every instance killed', () => {
  it('says no instance is alive, does not wait for a leader, and counts the slots after apart (the run passes)', async () => {
    // Two instances, each leader killed in turn: after 7 s nobody is alive. Manual clock,
    // bounded in simulated time.
    const clock = new ManualClock({ now: Date.parse('2026-03-01T12:00:00Z') });
    const out = collector();
    const summaryOut = collector();
    let finished = false;
    const run = runDemo(shortRun({ instances: 2, killLeaderAt: [3_000, 7_000], durationMs: 14_000 }), {
      out: out.stream,
      summaryOut: summaryOut.stream,
      interactive: false,
      clock,
    }).finally(() => {
      finished = true;
    });
    for (let simulated = 0; !finished && simulated < 10 * 60_000; simulated += 100) await clock.advance(100);
    const { summary, exitCode } = await run;
    const text = out.text();
    const context = `${text}\n${JSON.stringify(summary, null, 2)}`;
    expect(text, context).toMatch(/it was the last live instance: nobody is left to take over/);
    expect(text, context).toMatch(/no instance is alive: nobody can take over, so the demo does not wait/);
    expect(text, context).not.toMatch(/waiting for a leader/);
    expect(text, context).not.toMatch(/killed node-.; watch the others take over[^\n]*\n[^\n]*last live/);
    expect(summary.allDownAt, context).not.toBeNull();
    expect(summary.totals.missedNoInstance, context).toBeGreaterThan(0);
    expect(summary.totals.missed, context).toBe(0);
    expect(summary.totals.duplicated, context).toBe(0);
    expect(summary.ok, context).toBe(true);
    expect(exitCode).toBe(0);
    // The summary ends at the end of the run, not after a wait for a leader that cannot come.
    expect(Date.parse(summary.endedAt) - Date.parse(summary.startedAt), context).toBeLessThan(15_000);
  });
});

const s3 = s3TestEnv();
describe.runIf(s3 !== undefined)('the demo on the real S3 server', () => {
  const url = () => {
    const env = s3!;
    const credentials =
      env.accessKeyId && env.secretAccessKey
        ? `${encodeURIComponent(env.accessKeyId)}:${encodeURIComponent(env.secretAccessKey)}@`
        : '';
    const query = new URLSearchParams({ endpoint: env.endpoint, region: env.region, forcePathStyle: 'true' });
    return `s3://${credentials}${env.bucket}/demo-e2e?${query}`;
  };

  it('one process per instance: SIGKILL of the leader; no slot twice, none missed', async () => {
    await s3TestBackend(); // creates the bucket if missing
    await runAndCheck(shortRun({ store: url(), processes: true, durationMs: 14_000, killLeaderAt: [6_000] }));
  });
});
