import type { RunOutcome } from '@s3-scheduler/executor';
import type { JobConfig, NormalizedJob } from './types.js';

/** `getJobStatus()`: the definition plus this instance's view of the job's runs. */
export interface JobStatus {
  name: string;
  enabled: boolean;
  schedule: string | null;
  description: string;
  timezone: string;
  lastRun: string | null;
  nextRun: string | null;
  isRunning: boolean;
  statistics: {
    totalRuns: number;
    totalSuccesses: number;
    totalErrors: number;
    /** 0–100. */
    successRate: number;
    /** Mean duration of this instance's runs, rounded ms. */
    avgDuration: number;
    lastSuccess: string | null;
    lastError: { time: string; message: string } | null;
    /** Slots skipped because the job was still running (`overlap: 'skip'`). */
    skippedOverlap: number;
    /** Slots that passed beyond the catch-up rules. */
    missed: number;
    /** Runs found orphaned by a vanished instance. */
    abandoned: number;
  };
}

/** Counters of the runs this instance executed: `getJobStatus()` reads them without I/O. */
export class RunCounters {
  totalRuns = 0;
  totalSuccesses = 0;
  totalErrors = 0;
  durationSum = 0;
  skippedOverlap = 0;
  missed = 0;
  abandoned = 0;
  lastRunAt: number | null = null;
  lastSuccessAt: number | null = null;
  lastError: { time: number; message: string } | null = null;

  record(outcome: RunOutcome<unknown>, now: number): void {
    this.totalRuns++;
    this.durationSum += outcome.durationMs;
    if (outcome.status === 'completed') {
      this.totalSuccesses++;
      this.lastSuccessAt = now;
    } else {
      this.totalErrors++;
      this.lastError = { time: now, message: outcome.error?.message ?? outcome.status };
    }
  }
}

/** One registered job: its definition, its place in the timer heap and its running runs. */
export class JobState {
  /** Bumped whenever the job is rescheduled: heap entries of older generations are stale. */
  generation = 0;
  nextAt: number | null = null;
  removed = false;
  /** Runs executing on this instance, by run id, with the controller that cancels them. */
  readonly running = new Map<string, AbortController>();
  readonly counters = new RunCounters();

  constructor(
    public def: NormalizedJob,
    public config: JobConfig,
  ) {}

  replace(def: NormalizedJob, config: JobConfig): void {
    this.def = def;
    this.config = config;
  }

  cancelAll(reason: string): void {
    for (const controller of this.running.values()) controller.abort(new Error(reason));
  }

  status(): JobStatus {
    const counters = this.counters;
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      name: this.def.name,
      enabled: this.def.enabled,
      schedule: this.def.schedule,
      description: this.def.description,
      timezone: this.def.timezone,
      lastRun: iso(counters.lastRunAt),
      nextRun: iso(this.nextAt),
      isRunning: this.running.size > 0,
      statistics: {
        totalRuns: counters.totalRuns,
        totalSuccesses: counters.totalSuccesses,
        totalErrors: counters.totalErrors,
        successRate:
          counters.totalRuns === 0
            ? 0
            : Math.round((counters.totalSuccesses / counters.totalRuns) * 10000) / 100,
        avgDuration: counters.totalRuns === 0 ? 0 : Math.round(counters.durationSum / counters.totalRuns),
        lastSuccess: iso(counters.lastSuccessAt),
        lastError: counters.lastError
          ? { time: iso(counters.lastError.time)!, message: counters.lastError.message }
          : null,
        skippedOverlap: counters.skippedOverlap,
        missed: counters.missed,
        abandoned: counters.abandoned,
      },
    };
  }
}
