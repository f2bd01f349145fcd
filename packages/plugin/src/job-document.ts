import { createNonce, isSchedulerError, SchedulerError } from '@s3-scheduler/core';
import { encodeKeySegment, isPreconditionFailed, type ObjectStore } from '@s3-scheduler/storage';
import { sanitizeJobDocument } from './stored-values.js';
import type { JobConfig } from './types.js';

/** Job options that can be stored (everything but the action), applied over the code's config. */
export type JobOverrides = Partial<Omit<JobConfig, 'action'>>;

/**
 * The shared, runtime state of one job, stored once for the whole cluster so that what one
 * instance changes (updateJob, enable/disable, pause) is taken up by the leader wherever it
 * runs, and so that what the leader must not forget (buffered slots) survives a leader change.
 * Code declares jobs; this document only holds what changed at run time, so instances booting
 * with the same code converge without writing anything.
 */
export interface JobDocument {
  v: 1;
  name: string;
  overrides: JobOverrides;
  paused: boolean;
  pausedNote: string | null;
  consecutiveFailures: number;
  /** Scheduled runs taken so far, for `maxRuns`. */
  runsTaken: number;
  /**
   * When the job was first added at run time, anywhere in the cluster: a new leader catches up
   * a job that never ran from here, not from when it registered the job itself.
   */
  since?: number;
  /** Slots waiting for the running run to end (`buffer-one`, `buffer-all`, `cancel-other`), oldest first. */
  buffer: number[];
  updatedAt: number;
  nonce: string;
}

const PREFIX = 'jobs/';
const MAX_CAS_ATTEMPTS = 20;

export function emptyJobDocument(name: string): JobDocument {
  return {
    v: 1,
    name,
    overrides: {},
    paused: false,
    pausedNote: null,
    consecutiveFailures: 0,
    runsTaken: 0,
    buffer: [],
    updatedAt: 0,
    nonce: '',
  };
}

/** Reads and changes job documents by compare-and-swap; remembers ETags to find changes cheaply. */
export class JobDocuments {
  readonly #etags = new Map<string, string>();
  /** Updates of one job run one after the other, so the last one to resolve is the newest. */
  readonly #queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: ObjectStore,
    private readonly now: () => number,
    /** Told about each stored value that is refused and ignored (written by an older version). */
    private readonly onInvalid: (error: SchedulerError) => void = () => undefined,
  ) {}

  key(name: string): string {
    return `${PREFIX}${encodeKeySegment(name)}.json`;
  }

  async read(name: string): Promise<{ doc: JobDocument; etag: string } | null> {
    const key = this.key(name);
    const object = await this.store.get(key);
    if (!object) return null;
    const doc = decode(key, object.body, this.onInvalid);
    this.#etags.set(key, object.etag);
    return { doc, etag: object.etag };
  }

  /**
   * Applies `change` to the stored document (or a fresh one) by compare-and-swap, retrying when
   * another instance wrote in between. `change` returns `false` to leave the document as it is.
   */
  update(name: string, change: (doc: JobDocument) => boolean | undefined): Promise<JobDocument> {
    const previous = this.#queues.get(name) ?? Promise.resolve();
    const next = previous.then(
      () => this.#update(name, change),
      () => this.#update(name, change),
    );
    const settled = next.catch(() => undefined);
    this.#queues.set(name, settled);
    void settled.then(() => {
      if (this.#queues.get(name) === settled) this.#queues.delete(name);
    });
    return next;
  }

  async #update(name: string, change: (doc: JobDocument) => boolean | undefined): Promise<JobDocument> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.read(name);
      const doc = current ? structuredClone(current.doc) : emptyJobDocument(name);
      if (change(doc) === false) return doc;
      doc.updatedAt = this.now();
      doc.nonce = createNonce();
      const key = this.key(name);
      try {
        const { etag } = await this.store.put(key, JSON.stringify(doc), {
          contentType: 'application/json',
          ...(current ? { ifMatch: current.etag } : { ifNoneMatch: '*' as const }),
        });
        this.#etags.set(key, etag);
        return doc;
      } catch (error) {
        if (!isPreconditionFailed(error) || attempt >= MAX_CAS_ATTEMPTS) throw error;
      }
    }
  }

  /** Documents written since this instance last read them: one list, plus one read per change. */
  async changed(): Promise<JobDocument[]> {
    const changed: JobDocument[] = [];
    let startAfter: string | undefined;
    for (;;) {
      const page = await this.store.list(PREFIX, startAfter === undefined ? {} : { startAfter });
      for (const object of page.objects) {
        if (this.#etags.get(object.key) === object.etag) continue;
        const fresh = await this.store.get(object.key);
        if (!fresh) continue;
        this.#etags.set(object.key, fresh.etag);
        changed.push(decode(object.key, fresh.body, this.onInvalid));
      }
      if (page.nextStartAfter === undefined) return changed;
      startAfter = page.nextStartAfter;
    }
  }
}

function decode(key: string, body: Uint8Array, onInvalid: (error: SchedulerError) => void): JobDocument {
  let doc: JobDocument;
  try {
    doc = JSON.parse(new TextDecoder().decode(body)) as JobDocument;
    if (doc?.v !== 1 || typeof doc.name !== 'string') throw new Error('not a job document');
  } catch (error) {
    if (isSchedulerError(error)) throw error;
    throw new SchedulerError(`Stored job document '${key}' is corrupted`, {
      code: 'STORE_CORRUPTED',
      operation: 'readJobDocument',
      metadata: { key },
      suggestion: 'Delete the object; the job falls back to its definition in code.',
      cause: error,
    });
  }
  return sanitizeJobDocument(doc, onInvalid);
}
