import { clockTime } from '@s3-scheduler/cli/view';
import type { Clock } from '@s3-scheduler/core';
import { type JobContext, SchedulerPlugin } from '@s3-scheduler/plugin';
import { encodeKeySegment, isPreconditionFailed, type ObjectStore } from '@s3-scheduler/storage';
import type { ExecutionCounter } from './executions.js';
import { demoJobs, EXTRA_JOBS } from './jobs.js';
import type { ClusterEvent, InstanceReport, LiveAttempt } from './model.js';

export interface DemoInstanceOptions {
  id: string;
  /** The instance's view of the shared store (the plugin adds its own `plugin=scheduler/` prefix). */
  store: ObjectStore;
  clock: Clock;
  heartbeatMs: number;
  coldStartMs: number;
  /** Where each action writes its execution marker (`markers/…`), through this instance's store. */
  markers: ObjectStore;
  /** In one process: the shared tally of action invocations. */
  counter?: ExecutionCounter;
  onEvent(event: ClusterEvent): void;
  /** Jobs added before this instance started (a restarted or late process). */
  extraJobs?: readonly string[];
}

/** The key of an execution marker: its listing alone tells job, slot and run. */
export function markerKey(context: Pick<JobContext, 'jobName' | 'slot' | 'runId'>): string {
  const slot = context.slot === null ? 'manual' : String(Date.parse(context.slot));
  return `markers/${encodeKeySegment(context.jobName)}/${slot}/${context.runId}`;
}

/** One scheduler instance of the demo, with the events turned into lines people can read. */
export class DemoInstance {
  readonly id: string;
  readonly plugin: SchedulerPlugin;
  readonly #live = new Map<string, LiveAttempt>();
  readonly #onEvent: (event: ClusterEvent) => void;
  readonly #clock: Clock;

  constructor(options: DemoInstanceOptions) {
    this.id = options.id;
    this.#onEvent = options.onEvent;
    this.#clock = options.clock;
    const clock = options.clock;
    const jobs = demoJobs();
    for (const name of options.extraJobs ?? []) jobs[name] = EXTRA_JOBS[name]!;
    this.plugin = new SchedulerPlugin({
      jobs,
      store: options.store,
      clock,
      workerId: options.id,
      heartbeatInterval: options.heartbeatMs,
      coldStartObservationWindow: options.coldStartMs,
      // Short enough that a demo run's stop never waits long for the slow job.
      stopTimeout: 5000,
      logger: null,
      database: {
        work: (ms: number, signal: AbortSignal) => clock.sleep(ms, signal),
        recordExecution: async (context: JobContext) => {
          options.counter?.record(context.jobName, context.slot, context.runId, options.id);
          try {
            await options.markers.put(
              markerKey(context),
              JSON.stringify({ workerId: options.id, epoch: context.epoch, at: clock.now() }),
              { ifNoneMatch: '*' },
            );
          } catch (error) {
            // A retry of the same run finds its own marker: that is one execution, not two.
            if (!isPreconditionFailed(error)) throw error;
          }
        },
      },
    });
    this.#listen();
  }

  get liveAttempts(): LiveAttempt[] {
    return [...this.#live.values()];
  }

  report(state: InstanceReport['instance']['state'] | undefined): InstanceReport {
    const plugin = this.plugin;
    const leading = plugin.isLeader();
    const runs = plugin.listJobs().reduce((sum, job) => sum + job.statistics.totalRuns, 0);
    return {
      instance: {
        id: this.id,
        pid: process.pid,
        state: state ?? (!plugin.isStarted ? 'stopped' : leading ? 'leader' : 'follower'),
        epoch: plugin.getEpoch(),
        leader: plugin.getLeader(),
        runs,
      },
      jobs: plugin.listJobs().map((job) => ({
        name: job.name,
        schedule: job.schedule,
        timezone: job.timezone,
        description: job.description,
        nextRun: job.nextRun,
      })),
      live: this.liveAttempts,
    };
  }

  async addJob(name: string): Promise<void> {
    const config = EXTRA_JOBS[name];
    if (!config) throw new Error(`Unknown extra job '${name}'`);
    if (this.plugin.getJobStatus(name)) return;
    await this.plugin.addJob(name, config);
  }

  #emit(kind: ClusterEvent['kind'], text: string): void {
    this.#onEvent({ at: this.#clock.now(), kind, text });
  }

  #listen(): void {
    const plugin = this.plugin;
    const id = this.id;
    const slotText = (slot: string | null) => (slot ? `slot ${clockTime(Date.parse(slot))}` : 'manual run');
    plugin.on('plg:scheduler:coordinator-promoted', ({ epoch }) =>
      this.#emit('leader', `${id} is now the leader (epoch ${epoch})`),
    );
    plugin.on('plg:scheduler:coordinator-demoted', ({ epoch, reason }) =>
      this.#emit('leader', `${id} stopped leading (epoch ${epoch}, ${reason})`),
    );
    plugin.on('plg:scheduler:job-started', (event) => {
      this.#live.set(event.runId, {
        job: event.jobName,
        runId: event.runId,
        slot: event.slot,
        attempt: event.attempt,
        workerId: id,
        startedAt: event.startTime,
      });
      if (event.attempt !== 1) return;
      if (event.trigger === 'catch-up') {
        this.#emit(
          'catch-up',
          `${event.jobName} ${slotText(event.slot)} caught up by ${id} (epoch ${event.epoch}): no leader ran it on time`,
        );
      } else if (event.trigger === 'manual') {
        this.#emit('info', `${event.jobName} triggered by hand, running on ${id}`);
      }
    });
    plugin.on('plg:scheduler:job-retry', (event) =>
      this.#emit(
        'run',
        // `attempt` is the attempt to come; `failedAttempt` the one that just failed.
        `${event.jobName} ${slotText(event.slot)} attempt ${event.failedAttempt} failed on ${id} (${event.error.message}); attempt ${event.attempt} in ${event.delay} ms`,
      ),
    );
    plugin.on('plg:scheduler:job-timeout', (event) =>
      this.#emit(
        'run',
        `${event.jobName} ${slotText(event.slot)} attempt ${event.attempt} timed out after ${event.timeout} ms on ${id}`,
      ),
    );
    plugin.on('plg:scheduler:job-completed', (event) => {
      this.#live.delete(event.runId);
      this.#emit(
        'run',
        `${event.jobName} ${slotText(event.slot)} completed on ${id} in ${Math.round(event.duration)} ms (epoch ${event.epoch}, ${event.attempts} attempt${event.attempts === 1 ? '' : 's'})`,
      );
    });
    plugin.on('plg:scheduler:job-failed', (event) => {
      this.#live.delete(event.runId);
      this.#emit(
        'run',
        `${event.jobName} ${slotText(event.slot)} ${event.status} on ${id} after ${Math.round(event.duration)} ms (epoch ${event.epoch}, ${event.attempts} attempt${event.attempts === 1 ? '' : 's'}): ${event.error.message}`,
      );
    });
    plugin.on('plg:scheduler:job-skipped', (event) =>
      this.#emit('run', `${event.jobName} ${slotText(event.slot)} skipped by ${id} (${event.reason})`),
    );
    plugin.on('plg:scheduler:job-abandoned', (event) =>
      this.#emit(
        'catch-up',
        `${event.jobName} ${slotText(event.slot)} was running on ${event.previousWorkerId ?? 'an instance'} when it vanished: recorded ${event.action === 'rerun' ? 'and re-run' : 'abandoned'} by ${id}`,
      ),
    );
    plugin.on('plg:scheduler:error', ({ operation, error, jobName }) =>
      this.#emit('error', `${id}: ${operation}${jobName ? ` '${jobName}'` : ''}: ${error.message}`),
    );
  }
}
