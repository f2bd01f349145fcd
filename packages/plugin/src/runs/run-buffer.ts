import type { JobState } from '../jobs/job-state.js';
import type { Runtime } from '../runtime.js';

/**
 * A job's slots waiting for its running run to end, kept in the job's shared document so a new
 * leader finds them: `buffer-one` keeps only the newest, `buffer-all` up to `bufferLimit`.
 */
export class RunBuffer {
  constructor(private readonly runtime: Runtime) {}

  /**
   * Adds `slot` (once) and returns the oldest slots pushed out beyond `limit`, which the caller
   * records skipped. Emits `job-buffered`.
   */
  async add(state: JobState, slot: number, limit: number): Promise<number[]> {
    const dropped: number[] = [];
    state.document = await this.runtime.store.documents.update(state.def.name, (doc) => {
      if (doc.buffer.includes(slot)) return false;
      doc.buffer.push(slot);
      while (doc.buffer.length > limit) dropped.push(doc.buffer.shift()!);
      return true;
    });
    this.runtime.events.emit('plg:scheduler:job-buffered', {
      jobName: state.def.name,
      slot: new Date(slot).toISOString(),
      waiting: state.buffer.length,
      workerId: this.runtime.workerId,
      epoch: this.runtime.leader.epoch,
      policy: state.def.overlap,
      dropped: dropped.map((old) => new Date(old).toISOString()),
    });
    return dropped;
  }

  /** Takes the oldest waiting slot out of the buffer; `undefined` when none waits. */
  async take(state: JobState): Promise<number | undefined> {
    let slot: number | undefined;
    state.document = await this.runtime.store.documents.update(state.def.name, (doc) => {
      slot = doc.buffer.shift();
      return slot !== undefined;
    });
    return slot;
  }

  /** Takes every waiting slot out of the buffer (one write), oldest first. */
  async takeAll(state: JobState): Promise<number[]> {
    let slots: number[] = [];
    state.document = await this.runtime.store.documents.update(state.def.name, (doc) => {
      slots = doc.buffer.splice(0);
      return slots.length > 0;
    });
    return slots;
  }

  /** Puts a slot taken out by `take` back at the head of the buffer. */
  async putBack(state: JobState, slot: number): Promise<void> {
    state.document = await this.runtime.store.documents.update(state.def.name, (doc) => {
      doc.buffer.unshift(slot);
      return true;
    });
  }
}
