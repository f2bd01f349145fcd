import type { ClusterStatus } from '@s3-scheduler/plugin';
import { agoText, type ClusterFrame, type FrameEvent, type FrameInstance } from './frame.js';

export interface StatusFrameOptions {
  title: string;
  settings: readonly string[];
  /** When the watch started, ms. */
  startedAt: number;
  events: readonly FrameEvent[];
  /** The most runs the frame lists. */
  maxRuns: number;
  keys?: string;
  status?: string;
}

/**
 * The live view's frame from what the bucket says (`ClusterReadModel.status()`): workers from
 * their heartbeats (`leader`, `follower`, or `gone` when too old), the leader and its epoch from
 * its lease, jobs with their next run or pause, and the newest runs read.
 */
export function statusFrame(status: ClusterStatus, options: StatusFrameOptions): ClusterFrame {
  const now = Date.parse(status.at);
  const leader = status.leader;
  const instances: FrameInstance[] = status.workers.map((worker) => ({
    id: worker.workerId,
    state: worker.leader ? 'leader' : worker.alive ? 'follower' : 'gone',
    epoch: worker.leader ? status.epoch : null,
    heartbeatAt: Date.parse(worker.lastHeartbeat),
  }));
  // A live lease whose owner has no heartbeat object (yet): the lease is its heartbeat.
  if (leader?.alive && !instances.some((instance) => instance.id === leader.workerId)) {
    instances.unshift({
      id: leader.workerId,
      state: 'leader',
      epoch: leader.epoch,
      heartbeatAt: Date.parse(leader.renewedAt),
    });
  }
  const leaderNote = leader?.alive
    ? `lease renewed ${agoText(Date.parse(leader.renewedAt), now)}`
    : leader
      ? `none now: ${leader.workerId}'s lease (epoch ${leader.epoch}) ${leader.state === 'released' ? 'was released' : 'ran out'} ${agoText(Date.parse(leader.renewedAt), now)}`
      : 'none: no leader lease under this prefix (is the app running?)';
  return {
    title: options.title,
    settings: options.settings,
    now,
    startedAt: options.startedAt,
    instances,
    leaderNote,
    jobs: status.jobs.map((job) => ({
      name: job.name,
      schedule: job.schedule,
      timezone: job.timezone,
      nextRun: job.nextRuns[0] ? Date.parse(job.nextRuns[0].fireAt) : null,
      paused: job.paused,
    })),
    totalJobs: status.totalJobs,
    recentRuns: status.recentRuns.slice(0, options.maxRuns),
    events: options.events,
    keys: options.keys,
    status:
      options.status ??
      (status.catalogPublishedAt === null
        ? 'No leader has published the job catalog yet: jobs appear once an instance leads.'
        : undefined),
  };
}

/**
 * What changed between two reads of the bucket, as the view's events: leader changes, workers
 * joining or going, pauses. The first read is no change: it says who leads, never a hand-over.
 */
export function statusEvents(previous: ClusterStatus | undefined, current: ClusterStatus): FrameEvent[] {
  const at = Date.parse(current.at);
  const leaderOf = (status: ClusterStatus) => (status.leader?.alive ? status.leader : null);
  const now = leaderOf(current);
  if (previous === undefined) {
    return [
      {
        at,
        kind: 'info',
        text: now ? `watching: ${now.workerId} leads, epoch ${now.epoch}` : 'watching: no live leader',
      },
    ];
  }
  const events: FrameEvent[] = [];
  const before = leaderOf(previous);
  if (now && (before?.workerId !== now.workerId || before.epoch !== now.epoch)) {
    events.push({
      at,
      kind: 'leader',
      text: `${now.workerId} leads, epoch ${now.epoch}${before ? ` (was ${before.workerId}, epoch ${before.epoch})` : ''}`,
    });
  } else if (!now && before) {
    events.push({
      at,
      kind: 'fault',
      text: `no live leader: ${before.workerId}'s lease (epoch ${before.epoch}) ${current.leader?.state === 'released' ? 'was released' : 'ran out'}`,
    });
  }
  const alive = (status: ClusterStatus) =>
    new Set(status.workers.filter((worker) => worker.alive).map((worker) => worker.workerId));
  const wereAlive = alive(previous);
  const areAlive = alive(current);
  for (const id of areAlive)
    if (!wereAlive.has(id)) events.push({ at, kind: 'info', text: `${id} is alive` });
  for (const id of wereAlive)
    if (!areAlive.has(id)) events.push({ at, kind: 'fault', text: `${id}: no heartbeat, counted gone` });
  const paused = new Map(previous.jobs.map((job) => [job.name, job.paused]));
  for (const job of current.jobs) {
    const was = paused.get(job.name);
    if (was === false && job.paused)
      events.push({
        at,
        kind: 'info',
        text: `${job.name} paused${job.pausedNote ? `: ${job.pausedNote}` : ''}`,
      });
    else if (was === true && !job.paused) events.push({ at, kind: 'info', text: `${job.name} resumed` });
  }
  return events;
}
