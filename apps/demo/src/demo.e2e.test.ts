import { Writable } from 'node:stream';
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

async function runAndCheck(options: DemoOptions) {
  const out = collector();
  const summaryOut = collector();
  const { summary, exitCode } = await runDemo(options, {
    out: out.stream,
    summaryOut: summaryOut.stream,
    interactive: false,
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
  it('in one process: kills the leader once; no slot twice, none missed', { timeout: 40_000 }, async () => {
    await runAndCheck(shortRun());
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

  it('one process per instance: SIGKILL of the leader; no slot twice, none missed', {
    timeout: 60_000,
  }, async () => {
    await s3TestBackend(); // creates the bucket if missing
    await runAndCheck(shortRun({ store: url(), processes: true, durationMs: 14_000, killLeaderAt: [6_000] }));
  });
});
