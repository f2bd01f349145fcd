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

  /**
   * Takes the oldest waiting slot out of the buffer (`slot`, `undefined` when none waits) in one
   * write; when the job is paused, takes every waiting slot out instead (`paused`, oldest first),
   * none to run. Decided on the document as stored, not on this instance's copy: a pause or a
   * resume written by another instance since the last heartbeat counts.
   */
  async take(state: JobState): Promise<{ slot: number | undefined; paused: number[] }> {
    let slot: number | undefined;
    let paused: number[] = [];
    state.document = await this.runtime.store.documents.update(state.def.name, (doc) => {
      // Set afresh on every try: the change runs again on a document written meanwhile.
      slot = undefined;
      paused = [];
      if (doc.paused) paused = doc.buffer.splice(0);
      else slot = doc.buffer.shift();
      return slot !== undefined || paused.length > 0;
    });
    return { slot, paused };
  }

  /** Puts a slot taken out by `take` back at the head of the buffer. */
  async putBack(state: JobState, slot: number): Promise<void> {
    state.document = await this.runtime.store.documents.update(state.def.name, (doc) => {
      doc.buffer.unshift(slot);
      return true;
    });
  }
}
