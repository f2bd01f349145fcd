import type { CoordinatorEvents } from '@s3-scheduler/coordinator';
import type { RunOutcome } from '@s3-scheduler/executor';
import type { JobContext, OverlapPolicy, RunTrigger } from './types.js';

/** Facts every job event carries. */
export interface RunEventBase {
  jobName: string;
  runId: string;
  /** The slot's ISO instant, or `null` for manual runs. */
  slot: string | null;
  /** The slot instant in ms (start time for manual runs). */
  scheduledTime: number;
  trigger: RunTrigger;
  workerId: string;
  epoch: number;
}

/** Every event the plugin emits, with its payload. */
export type SchedulerEvents = {
  /** An attempt started (once per attempt; `attempt` is 1 for the first). */
  'plg:scheduler:job-started': RunEventBase & { attempt: number; startTime: number };
  /** A run finished successfully. */
  'plg:scheduler:job-completed': RunEventBase & {
    status: 'completed';
    result: unknown;
    /** The run's duration in whole ms, retries and back-off included. */
    duration: number;
    attempts: number;
  };
  /** A run finished without success (failed, timed out on its last attempt, or cancelled). */
  'plg:scheduler:job-failed': RunEventBase & {
    status: 'failed' | 'timeout' | 'cancelled';
    error: Error;
    /** The run's duration in whole ms, retries and back-off included. */
    duration: number;
    attempts: number;
    /** Same as `attempts` (the spec's examples read both). */
    attempt: number;
  };
  /**
   * An attempt failed and another follows after `delay` ms: `failedAttempt` is the attempt that
   * failed, `attempt` the one that follows (`failedAttempt + 1`).
   */
  'plg:scheduler:job-retry': RunEventBase & {
    attempt: number;
    failedAttempt: number;
    delay: number;
    error: Error;
  };
  /** An attempt exceeded `timeout` and its signal was aborted. */
  'plg:scheduler:job-timeout': RunEventBase & { attempt: number; timeout: number };
  /**
   * A slot was not run: `overlap` (the job was still running, policy `skip`), `missed` (beyond
   * the catch-up rules), `paused`, or `max-runs` (the job's `maxRuns` was reached).
   */
  'plg:scheduler:job-skipped': {
    jobName: string;
    slot: string;
    reason: 'overlap' | 'missed' | 'paused' | 'max-runs';
    workerId: string;
    /** The leader term of this instance when it decided (0 without a coordinator or term). */
    epoch: number;
    /** The job's overlap policy. */
    policy: OverlapPolicy;
    /** With `reason: 'overlap'`: the instance running the job at the time, when known. */
    holder?: string;
    /**
     * Only on the summary of a long gap (more than 1,000 missed slots): how many slots were
     * missed in all; `slot` is then the newest of them.
     */
    count?: number;
    /** With `count`: the oldest missed slot. */
    firstSlot?: string;
  };
  /** A slot waits in the job's shared buffer for the running run to end (`buffer-*`, `cancel-other`). */
  'plg:scheduler:job-buffered': {
    jobName: string;
    slot: string;
    waiting: number;
    workerId: string;
    epoch: number;
    /** The job's overlap policy (`buffer-one`, `buffer-all` or `cancel-other`). */
    policy: OverlapPolicy;
    /** Older slots pushed out of the buffer by this one (each also reported `job-skipped`). */
    dropped: string[];
  };
  /** The job paused itself (`pauseOnFailure`) or was paused with `pauseJob()`. */
  'plg:scheduler:job-paused': { jobName: string; note: string; workerId: string };
  /** `resumeJob()` cleared a pause. */
  'plg:scheduler:job-resumed': { jobName: string; workerId: string };
  /** Another instance had claimed the slot already (normal when two instances race). */
  'plg:scheduler:job-lock_failed': {
    jobName: string;
    slot: string | null;
    holder: string | null;
    workerId: string;
    epoch: number;
  };
  /** A run whose instance vanished was found `running` and recorded `abandoned` (or re-run). */
  'plg:scheduler:job-abandoned': {
    jobName: string;
    slot: string | null;
    runId: string;
    previousWorkerId: string | null;
    action: 'abandon' | 'rerun';
    /** The instance (the leader) that decided, and its term. */
    workerId: string;
    epoch: number;
  };
  'plg:scheduler:coordinator-elected': CoordinatorEvents['coordinator-elected'];
  'plg:scheduler:coordinator-promoted': CoordinatorEvents['coordinator-promoted'];
  'plg:scheduler:coordinator-demoted': CoordinatorEvents['coordinator-demoted'];
  /** Retention ran: whole day partitions older than the cut-off were deleted. */
  'plg:scheduler:history-cleanup': { deleted: number; partitions: number; olderThan: string };
  /** Something went wrong in the background (store outage, history write refused); the scheduler carries on. */
  'plg:scheduler:error': { operation: string; error: Error; jobName?: string };
  scheduler_started: { workerId: string; jobs: number };
  scheduler_stopped: { workerId: string; drained: boolean };
  /** Short names of the spec's quick start: the same payloads as the long ones. */
  jobStarted: SchedulerEvents['plg:scheduler:job-started'];
  jobCompleted: SchedulerEvents['plg:scheduler:job-completed'];
  jobFailed: SchedulerEvents['plg:scheduler:job-failed'];
};

export type SchedulerEventName = keyof SchedulerEvents;

/** Long event names that are also emitted under a short name. */
export const SHORT_EVENT_NAMES: Partial<Record<SchedulerEventName, SchedulerEventName>> = {
  'plg:scheduler:job-started': 'jobStarted',
  'plg:scheduler:job-completed': 'jobCompleted',
  'plg:scheduler:job-failed': 'jobFailed',
};

/** The facts every job event carries, read from the run's context. */
export function eventBase(context: JobContext): RunEventBase {
  return {
    jobName: context.jobName,
    runId: context.runId,
    slot: context.slot,
    scheduledTime: context.scheduledTime,
    trigger: context.trigger,
    workerId: context.workerId,
    epoch: context.epoch,
  };
}

/** The error of a run that did not complete, as an `Error` users can read `.message` from. */
export function toError(outcome: RunOutcome<unknown>): Error {
  if (outcome.cause instanceof Error) return outcome.cause;
  const captured = outcome.error;
  return Object.assign(new Error(captured?.message ?? outcome.status), {
    name: captured?.name ?? 'Error',
    ...(captured?.code ? { code: captured.code } : {}),
  });
}
