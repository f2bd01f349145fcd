import type { ClusterStatus } from '@s3-scheduler/plugin';
import { describe, expect, it } from 'vitest';
import { type ClusterFrame, renderFrame, truncate, visible } from './frame.js';
import { statusEvents, statusFrame } from './status-frame.js';

const T = Date.parse('2026-03-01T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

function status(overrides: Partial<ClusterStatus> = {}, jobs = 4): ClusterStatus {
  return {
    at: iso(T),
    leader: {
      workerId: 'worker-1',
      epoch: 3,
      state: 'held',
      alive: true,
      renewedAt: iso(T - 2000),
      leaseMs: 15_000,
    },
    epoch: 3,
    workers: [
      { workerId: 'worker-0', lastHeartbeat: iso(T - 120_000), leader: false, alive: false },
      { workerId: 'worker-1', lastHeartbeat: iso(T - 2000), leader: true, alive: true },
      { workerId: 'worker-2', lastHeartbeat: iso(T - 4000), leader: false, alive: true },
    ],
    alive: true,
    catalogPublishedAt: iso(T - 60_000),
    totalJobs: jobs * 10,
    jobs: Array.from({ length: jobs }, (_, i) => ({
      name: `job_${i}`,
      description: '',
      schedule: '*/5 * * * *',
      timezone: i === 0 ? 'America/New_York' : 'UTC',
      enabled: true,
      paused: i === 1,
      pausedNote: i === 1 ? 'migration' : null,
      nextRuns: i === 1 ? [] : [{ slot: iso(T + 60_000), fireAt: iso(T + 60_000) }],
      definition: null,
      lastRun: null,
      running: [],
    })),
    activeElsewhere: [],
    recentRuns: Array.from({ length: 20 }, (_, i) => ({
      id: `r${i}`,
      jobName: 'job_0',
      status: i === 0 ? 'running' : 'completed',
      slot: iso(T - i * 300_000),
      startTime: iso(T - i * 300_000),
      started_at: iso(T - i * 300_000),
      endTime: null,
      duration: i === 0 ? null : 1200,
      result: null,
      error: null,
      errorDetail: null,
      retryCount: 0,
      attempts: 1,
      trigger: 'schedule',
      workerId: 'worker-1',
      epoch: 3,
    })),
    ...overrides,
  };
}

function frame(current: ClusterStatus, previous?: ClusterStatus): ClusterFrame {
  return statusFrame(current, {
    title: 's3-scheduler watch',
    settings: ['store memory://test/ · every 2s'],
    startedAt: T - 10_000,
    events: statusEvents(previous, current),
    maxRuns: 12,
    keys: 'Ctrl-C quit',
  });
}

describe('the live view (shared by watch and the demo)', () => {
  it('fits 80×24 with the bucket picture: leader, heartbeats, jobs due soonest, runs, events', () => {
    for (const colours of [true, false]) {
      const lines = renderFrame(frame(status()), colours, 80, 24);
      expect(lines.length).toBeLessThanOrEqual(24);
      for (const line of lines) expect(visible(line).length).toBeLessThanOrEqual(79);
      if (!colours) expect(lines.join('\n')).not.toContain('\x1b[');
      const text = lines.map(visible);
      expect(text[0]).toMatch(/^s3-scheduler watch {3}12:00:00 UTC · 10s$/);
      expect(text.find((line) => line.startsWith('LEADER'))).toBe(
        'LEADER  worker-1 leads, epoch 3 · lease renewed 2s ago',
      );
      expect(text).toContain('  worker-0    gone      -      2m 0s ago');
      expect(text).toContain('  worker-1    LEADER    3      2s ago');
      expect(text.some((line) => line.startsWith('  job_1') && line.endsWith('paused'))).toBe(true);
      expect(text.some((line) => line.startsWith('JOBS (4/40)'))).toBe(true);
      expect(text.some((line) => line.startsWith('  12:00:00  job_0') && line.includes('running'))).toBe(
        true,
      );
      expect(text.some((line) => line.includes('watching: worker-1 leads, epoch 3'))).toBe(true);
      expect(text.at(-1)).toBe('keys  Ctrl-C quit');
    }
  });

  it('shows as many jobs as fit and keeps rows for runs and events', () => {
    const text = renderFrame(frame(status({}, 20)), false, 80, 24);
    expect(text.length).toBeLessThanOrEqual(24);
    const heading = text.find((line) => line.startsWith('JOBS'))!;
    const shown = Number(/JOBS \((\d+)\/200\)/.exec(heading)?.[1]);
    expect(shown).toBeGreaterThan(0);
    expect(shown).toBeLessThan(20);
    expect(text.filter((line) => line.startsWith('  job_'))).toHaveLength(shown);
    expect(text.some((line) => line.startsWith('LATEST RUNS'))).toBe(true);
    expect(text.some((line) => line.startsWith('EVENTS'))).toBe(true);
  });

  it('says when nobody leads, and when no instance is alive', () => {
    const expired = status({
      leader: { ...status().leader!, alive: false, renewedAt: iso(T - 30_000) },
      workers: status().workers.map((worker) => ({ ...worker, leader: false })),
    });
    const none = renderFrame(frame(expired), false, 80, 24).find((line) => line.startsWith('LEADER'));
    expect(none).toBe("LEADER  none now: worker-1's lease (epoch 3) ran out 30s ago");
    const dead = status({
      leader: null,
      alive: false,
      workers: status().workers.map((worker) => ({ ...worker, leader: false, alive: false })),
    });
    expect(renderFrame(frame(dead), false, 80, 24).find((line) => line.startsWith('LEADER'))).toMatch(
      /^LEADER {2}no instance is alive, so no slot can run/,
    );
  });

  it('never exceeds a tiny terminal either', () => {
    const lines = renderFrame(frame(status()), true, 40, 10);
    expect(lines.length).toBeLessThanOrEqual(10);
    for (const line of lines) expect(visible(line).length).toBeLessThanOrEqual(39);
  });
});

describe('statusEvents', () => {
  it('the first read says who leads (no hand-over); later reads say what changed', () => {
    const first = status();
    expect(statusEvents(undefined, first)).toEqual([
      { at: T, kind: 'info', text: 'watching: worker-1 leads, epoch 3' },
    ]);
    expect(statusEvents(first, first)).toEqual([]);
    const handedOver = status({
      at: iso(T + 2000),
      leader: { ...first.leader!, workerId: 'worker-2', epoch: 4 },
      epoch: 4,
      workers: [
        { workerId: 'worker-1', lastHeartbeat: iso(T), leader: false, alive: false },
        { workerId: 'worker-2', lastHeartbeat: iso(T + 2000), leader: true, alive: true },
      ],
      jobs: first.jobs.map((job) => ({ ...job, paused: job.name === 'job_0', pausedNote: null })),
    });
    expect(statusEvents(first, handedOver).map((event) => event.text)).toEqual([
      'worker-2 leads, epoch 4 (was worker-1, epoch 3)',
      'worker-1: no heartbeat, counted gone',
      'job_0 paused',
      'job_1 resumed',
    ]);
  });
});

describe('truncate', () => {
  it('cuts to width − 1 visible characters with an ellipsis, keeping colours closed', () => {
    expect(truncate('abcdef', 5)).toBe('abc…');
    expect(truncate('abcd', 5)).toBe('abcd');
    const cut = truncate('\x1b[31mabcdef\x1b[0m', 5);
    expect(visible(cut)).toBe('abc…');
    expect(cut.endsWith('\x1b[0m')).toBe(true);
  });
});
