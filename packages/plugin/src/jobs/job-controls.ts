import { SchedulerError } from '@s3-scheduler/core';
import type { Runtime } from '../runtime.js';
import type { SlotTimer } from '../schedule/slot-timer.js';
import type { JobConfig } from '../types.js';
import { emptyJobDocument, type JobDocument, type JobOverrides } from './job-document.js';
import { normalizeJob } from './job-options.js';
import type { JobState } from './job-state.js';

/**
 * Changes to jobs at run time: adding, removing, updating, pausing and resuming. Changes other
 * instances must see go to the job's shared document; the timer takes the job up again.
 */
export class JobControls {
  constructor(
    private readonly runtime: Runtime,
    private readonly timer: SlotTimer,
  ) {}

  /** Throws `JOB_EXISTS`, or `INVALID_OPTION` from the job's options. */
  async add(name: string, config: JobConfig): Promise<void> {
    const { runtime } = this;
    if (runtime.jobs.has(name)) {
      throw new SchedulerError(`Job already exists: ${name}`, {
        code: 'JOB_EXISTS',
        operation: 'addJob',
        metadata: { jobName: name, existingJobs: runtime.jobs.names().slice(0, 50) },
        suggestion: 'Use updateJob() to change it, or removeJob() first.',
      });
    }
    const state = runtime.jobs.add(name, config, 'addJob');
    state.register(runtime.clock.now());
    if (!runtime.leader.started) return;
    this.timer.schedule(state, state.since);
    // Remember cluster-wide when the job appeared, so its first slots are caught up even if the
    // instance that added it dies before they come. Best effort: the job runs either way.
    const since = state.since;
    await runtime.store.documents
      .update(name, (doc) => {
        if (doc.since !== undefined) return false;
        doc.since = since;
        return true;
      })
      .then((doc) => {
        state.document = doc;
      })
      .catch((error: unknown) => runtime.reportError('addJob', error, name));
  }

  remove(state: JobState): void {
    state.markRemoved();
    this.runtime.jobs.delete(state.def.name);
    this.timer.rearm();
  }

  /** `updates` already checked; throws `INVALID_OPTION` from the merged options. */
  async update(state: JobState, updates: Partial<JobConfig>): Promise<void> {
    const name = state.def.name;
    const { action, ...stored } = updates;
    const config = { ...state.config, ...(action === undefined ? {} : { action }) } as JobConfig;
    const overrides = { ...state.document?.overrides, ...stored } as JobOverrides;
    const def = normalizeJob(name, { ...config, ...overrides }, this.runtime.options, 'updateJob');
    // Applied at once: a leader runs the new definition from now on, not once a slow store has
    // answered (storing first let slots of the new schedule pass, simulation seed 208).
    state.replace(def, config, overrides);
    if (Object.keys(stored).length > 0) {
      try {
        await this.#change(state, (doc) => {
          doc.overrides = { ...doc.overrides, ...stored };
          return true;
        });
      } catch (error) {
        // Not stored, or not known to be (a lost response may have stored it): this instance
        // takes up what is stored, as every other instance does, so none runs a definition the
        // cluster does not have (simulation seeds 211 and 215). The caller is told either way.
        await this.#settle(state);
        this.#reschedule(state);
        throw error;
      }
    }
    this.#reschedule(state);
  }

  /**
   * After a change whose write failed: reads the job document back and applies what it holds.
   * When the store does not answer that either, the next heartbeat's sync reads it (the cached
   * version is forgotten) and applies it then.
   */
  async #settle(state: JobState): Promise<void> {
    const { runtime } = this;
    const name = state.def.name;
    try {
      const current = await runtime.store.documents.read(name);
      takeUpDocument(runtime, state, current?.doc ?? emptyJobDocument(name));
      if (!current) state.document = null;
    } catch {
      runtime.store.documents.forget(name);
    }
  }

  async pause(state: JobState, note: string): Promise<void> {
    await this.#change(state, (doc) => {
      doc.paused = true;
      doc.pausedNote = note;
      return true;
    });
    this.#reschedule(state);
    this.runtime.events.emit('plg:scheduler:job-paused', {
      jobName: state.def.name,
      note,
      workerId: this.runtime.workerId,
    });
  }

  /** Ends a pause and resets the failure streak. */
  async resume(state: JobState): Promise<void> {
    await this.#change(state, (doc) => {
      doc.paused = false;
      doc.pausedNote = null;
      doc.consecutiveFailures = 0;
      return true;
    });
    this.#reschedule(state);
    this.runtime.events.emit('plg:scheduler:job-resumed', {
      jobName: state.def.name,
      workerId: this.runtime.workerId,
    });
  }

  async #change(state: JobState, change: (doc: JobDocument) => boolean): Promise<void> {
    await this.runtime.store.ensureHistory();
    state.document = await this.runtime.store.documents.update(state.def.name, change);
  }

  #reschedule(state: JobState): void {
    if (this.runtime.leader.started) this.timer.schedule(state, this.runtime.clock.now());
  }
}

/**
 * `doc`, read from the store, becomes the job's shared state on this instance; when its overrides
 * are not those the definition was built with, the definition is built again from the code's
 * configuration and them (a stored value that does not validate is reported, and the definition
 * stays as it was).
 */
export function takeUpDocument(runtime: Runtime, state: JobState, doc: JobDocument): void {
  state.document = doc;
  if (!state.differsFrom(doc.overrides)) return;
  try {
    const config = { ...state.config, ...doc.overrides } as JobConfig;
    state.redefine(normalizeJob(state.def.name, config, runtime.options, 'syncJob'), doc.overrides);
  } catch (error) {
    runtime.reportError('syncJob', error, state.def.name);
  }
}
