import { SchedulerError } from '@s3-scheduler/core';
import type { ResolvedPluginOptions } from '../plugin-options.js';
import type { JobConfig } from '../types.js';
import { normalizeJob } from './job-options.js';
import { JobState } from './job-state.js';

/** The jobs this instance knows, by name. */
export class JobRegistry {
  readonly #jobs = new Map<string, JobState>();

  constructor(private readonly options: ResolvedPluginOptions) {}

  get size(): number {
    return this.#jobs.size;
  }

  has(name: string): boolean {
    return this.#jobs.has(name);
  }

  find(name: string): JobState | undefined {
    return this.#jobs.get(name);
  }

  /** The job named `name`; throws `JOB_NOT_FOUND` (naming the known jobs) for `operation`. */
  get(name: string, operation: string): JobState {
    const state = this.#jobs.get(name);
    if (state) return state;
    throw new SchedulerError(`Job not found: ${name}`, {
      code: 'JOB_NOT_FOUND',
      operation,
      metadata: { jobName: name, availableJobs: this.names().slice(0, 50) },
      suggestion: 'Check the name against listJobs(), or add the job with addJob().',
    });
  }

  /** Validates `config` (throws `INVALID_OPTION` for `operation`) and registers the job. */
  add(name: string, config: JobConfig, operation: string): JobState {
    const state = new JobState(normalizeJob(name, config, this.options, operation), config);
    this.#jobs.set(name, state);
    return state;
  }

  delete(name: string): void {
    this.#jobs.delete(name);
  }

  names(): string[] {
    return [...this.#jobs.keys()];
  }

  values(): IterableIterator<JobState> {
    return this.#jobs.values();
  }

  entries(): IterableIterator<[string, JobState]> {
    return this.#jobs.entries();
  }
}
