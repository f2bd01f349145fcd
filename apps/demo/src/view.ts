import { type ClusterFrame, clockTime, clockTimeMs, type FrameRun } from '@s3-scheduler/cli/view';
import type { ClusterEvent, ClusterSnapshot, LiveAttempt } from './model.js';

/** What the demo knows at one moment; `demoFrame` turns it into the shared live view's frame. */
export interface ViewState {
  title: string;
  settings: string;
  now: number;
  startedAt: number;
  endsAt: number | undefined;
  snapshot: ClusterSnapshot;
  /** The newest stored runs, read through the cluster read model, newest first. */
  recentRuns: readonly FrameRun[] | undefined;
  events: readonly ClusterEvent[];
  /** The last thing a key did, or a hint. */
  status: string;
  interactive: boolean;
}

/** The key bar; short enough for an 80-column terminal. */
export const KEY_BAR = 'k kill leader · p pause leader · a add job · t trigger job · q quit';

/**
 * The demo's picture as the live view's frame (`@s3-scheduler/cli/view`, the one `s3-scheduler
 * watch` draws): instances as they know themselves, jobs with the next run a live instance
 * computed, the stored runs (a running one shows the attempt its instance reported), the
 * cluster's events but the per-run ones, the key bar when interactive.
 */
export function demoFrame(state: ViewState): ClusterFrame {
  const { snapshot } = state;
  const live = new Map<string, LiveAttempt>(snapshot.live.map((attempt) => [attempt.runId, attempt]));
  return {
    title: state.title,
    settings: state.settings.split('\n'),
    now: state.now,
    startedAt: state.startedAt,
    endsAt: state.endsAt,
    instances: snapshot.instances.map((instance) => ({
      id: instance.id,
      pid: instance.pid,
      state: instance.state,
      epoch: instance.epoch,
      seesLeader: instance.leader,
      runs: instance.runs,
    })),
    jobs: snapshot.jobs.map((job) => ({
      name: job.name,
      schedule: job.schedule,
      timezone: job.timezone,
      nextRun: job.nextRun ? Date.parse(job.nextRun) : null,
    })),
    recentRuns: state.recentRuns?.map((run) =>
      run.status === 'running' ? { ...run, attempts: live.get(run.id)?.attempt ?? run.attempts } : run,
    ),
    events: state.events.flatMap((event) => (event.kind === 'run' ? [] : [{ ...event, kind: event.kind }])),
    keys: state.interactive ? KEY_BAR : undefined,
    status: state.status,
  };
}

/** A one-line status for plain output. */
export function statusLine(snapshot: ClusterSnapshot, now: number): string {
  const leader = snapshot.instances.find((i) => i.state === 'leader');
  const instances = snapshot.instances.map((i) => `${i.id} ${i.state}`).join(', ');
  const next = snapshot.jobs
    .filter((job) => job.nextRun)
    .map((job) => `${job.name} ${clockTime(Date.parse(job.nextRun!))}`)
    .join(', ');
  return `${clockTimeMs(now)}  status: ${leader ? `leader ${leader.id} epoch ${leader.epoch}` : 'no leader'} · ${instances} · next: ${next}`;
}
