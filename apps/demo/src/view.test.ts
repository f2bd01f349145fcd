import { type FrameRun, renderFrame as renderClusterFrame } from '@s3-scheduler/cli/view';
import { describe, expect, it } from 'vitest';
import type { ClusterEvent, ClusterSnapshot } from './model.js';
import { demoFrame, KEY_BAR, type ViewState } from './view.js';

/** The demo's state drawn by the live view it shares with `s3-scheduler watch`. */
const renderFrame = (state: ViewState, colours: boolean, width?: number, height?: number) =>
  renderClusterFrame(demoFrame(state), colours, width, height);

const T = Date.parse('2026-03-01T12:00:00Z');
// biome-ignore lint/suspicious/noControlCharactersInRegex: stripping ANSI colour codes
const visible = (line: string) => line.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');

function snapshot(killed = 1): ClusterSnapshot {
  const ids = ['node-a', 'node-b', 'node-c'];
  return {
    instances: ids.map((id, i) =>
      i < killed
        ? { id, state: 'killed', epoch: 1, leader: null, runs: 4 }
        : { id, state: i === killed ? 'leader' : 'follower', epoch: 2, leader: ids[killed]!, runs: 3 },
    ),
    jobs: [
      ['cleanup_sessions', '*/5 * * * * *', 'UTC'],
      ['daily_report', '*/15 * * * * *', 'America/New_York'],
      ['sync_inventory', '*/6 * * * * *', 'UTC'],
      ['rebuild_search_index', '*/10 * * * * *', 'UTC'],
    ].map(([name, schedule, timezone]) => ({
      name: name!,
      schedule: schedule!,
      timezone: timezone!,
      description: '',
      nextRun: new Date(T + 5000).toISOString(),
    })),
    live: [],
  };
}

function runs(count: number): FrameRun[] {
  return Array.from({ length: count }, (_, i) => ({
    jobName: 'rebuild_search_index',
    slot: new Date(T - i * 5000).toISOString(),
    id: `r${i}`,
    status: 'abandoned',
    trigger: 'catch-up',
    epoch: 12,
    workerId: 'node-a',
    attempts: 1,
    startTime: new Date(T - i * 5000).toISOString(),
    duration: 3400,
  }));
}

const events: ClusterEvent[] = Array.from({ length: 40 }, (_, i) => ({
  at: T - (40 - i) * 1000,
  kind: i % 2 ? 'leader' : 'fault',
  text: `event ${i}: node-a killed at epoch 1: timers stopped, store requests hang (a crash); its lease runs out in 3000 ms`,
}));

function state(overrides: Partial<ViewState> = {}): ViewState {
  return {
    title: 's3-scheduler demo',
    settings:
      'in-process · 3 instances · heartbeat 1000 ms (lease 3000) · cold start 1500 ms\nstore memory://default/scheduler/demo-20260301-120000-ab12/',
    now: T,
    startedAt: T - 9000,
    endsAt: undefined,
    snapshot: snapshot(),
    recentRuns: runs(12),
    events,
    status: 'killed node-a; watch the others take over when its lease runs out',
    interactive: true,
    ...overrides,
  };
}

describe('renderFrame', () => {
  it('fits 80×24: at most 24 lines of at most 79 visible characters, key bar and note at the bottom, newest event shown', () => {
    for (const colours of [true, false]) {
      const frame = renderFrame(state(), colours, 80, 24);
      expect(frame.length).toBeLessThanOrEqual(24);
      for (const line of frame) expect(visible(line).length).toBeLessThanOrEqual(79);
      const text = frame.map(visible);
      expect(text.at(-2)).toBe(`keys  ${KEY_BAR}`);
      expect(text.at(-1)).toMatch(/^killed node-a/);
      expect(text.some((line) => line.startsWith('LEADER'))).toBe(true);
      expect(text.some((line) => line.includes('event 39'))).toBe(true);
      // The job table's columns are whole at 80 columns, the report's zone time included.
      expect(text.some((line) => line.includes('America/New_York') && line.endsWith('EST)'))).toBe(true);
      // Every instance and job row stays; runs and events share the rest.
      for (const id of ['node-a', 'node-b', 'node-c'])
        expect(text.some((line) => line.includes(id))).toBe(true);
      expect(text.some((line) => line.startsWith('  12:00:00  rebuild_search_index'))).toBe(true);
    }
  });

  it('uses the room of a tall terminal for more runs and events, with separators and legend', () => {
    const frame = renderFrame(state(), false, 120, 60).map(visible);
    expect(frame.length).toBeLessThanOrEqual(60);
    expect(frame).toContain('');
    expect(frame.some((line) => line.includes('* = manual run'))).toBe(true);
    expect(
      frame.filter((line) => line.includes('rebuild_search_index') && line.includes('abandoned')),
    ).toHaveLength(12);
  });

  it('without a note, nothing stale stays under the key bar', () => {
    const frame = renderFrame(state({ status: '' }), false, 80, 24).map(visible);
    expect(frame.at(-1)).toBe(`keys  ${KEY_BAR}`);
  });

  it('never exceeds a tiny terminal either', () => {
    const frame = renderFrame(state(), true, 40, 10);
    expect(frame.length).toBeLessThanOrEqual(10);
    for (const line of frame) expect(visible(line).length).toBeLessThanOrEqual(39);
  });

  it('says when no instance is alive', () => {
    const frame = renderFrame(state({ snapshot: snapshot(3) }), false, 80, 24).map(visible);
    expect(frame.find((line) => line.startsWith('LEADER'))).toMatch(/no instance is alive/);
  });
});
