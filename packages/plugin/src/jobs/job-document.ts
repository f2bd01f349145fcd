import { createNonce, KeyedQueue, SchedulerError } from '@s3-scheduler/core';
import { decodeKeySegment, listAll, type ObjectStore, readModifyWrite } from '@s3-scheduler/storage';
import { DEFAULT_LAYOUT } from '../layout.js';
import { announceChange, readChangeSignal } from '../store/change-signal.js';
import type { JobConfig } from '../types.js';
import { sanitizeJobDocument } from './stored-values.js';

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

const PREFIX = DEFAULT_LAYOUT.jobs;
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
  /** Names `forget` was called for: `changed()` returns them, stored or not. */
  readonly #unsettled = new Set<string>();
  /** Updates of one job run one after the other, so the last one to resolve is the newest. */
  readonly #queue = new KeyedQueue();
  /** A write was attempted but its announcement (`changes.json`) is owed: `announceOwed()` retries. */
  #owed = false;
  /** A version this instance has not read is stored (another instance wrote before its write). */
  #behind = false;
  /**
   * Whether this instance's writes are announced (`changes.json`): all but the leader's, which
   * followers learn from the digest in its lease. Set by the plugin.
   */
  announceWrites: () => boolean = () => true;

  constructor(
    private readonly store: ObjectStore,
    private readonly now: () => number,
    /** Told about each stored value that is refused and ignored (written by an older version). */
    private readonly onInvalid: (error: SchedulerError) => void = () => undefined,
    /** Told when the change signal could not be written (retried by `announceOwed()`). */
    private readonly onAnnounceFailed: (error: unknown) => void = () => undefined,
  ) {}

  /**
   * A digest of the versions (ETags) of every job document this instance knows: two instances
   * with the same digest have read the same versions. The leader publishes its digest in its
   * lease; a follower lists `jobs/` only when its own differs.
   */
  digest(): string {
    const entries = [...this.#etags].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return digestOf(entries.map(([key, etag]) => `${key}\n${etag}`).join('\n'));
  }

  /** Whether a listing is due whatever the change signal says (a version this instance has not read). */
  get behind(): boolean {
    return this.#behind || this.#unsettled.size > 0;
  }

  /** The change signal's ETag (`null`: never written). Throws what the store throws. */
  changeSignal(): Promise<string | null> {
    return readChangeSignal(this.store);
  }

  /**
   * Writes the change signal if an announcement is owed (or when `now` is true). Never throws: a
   * failure goes to `onAnnounceFailed` and stays owed.
   */
  async announceOwed(now = false): Promise<void> {
    if (!now && !this.#owed) return;
    this.#owed = true;
    try {
      await announceChange(this.store, this.now());
      this.#owed = false;
    } catch (error) {
      this.onAnnounceFailed(error);
    }
  }

  key(name: string): string {
    return DEFAULT_LAYOUT.jobDocument(name);
  }

  /**
   * The stored document of `name`. One that is corrupted counts as a fresh document (the job's
   * code-defined configuration): the next change replaces it by compare-and-swap on its ETag.
   */
  async read(name: string): Promise<{ doc: JobDocument; etag: string } | null> {
    const key = this.key(name);
    const object = await this.store.get(key);
    if (!object) return null;
    let doc: JobDocument;
    try {
      doc = decode(key, object.body, name, this.onInvalid);
    } catch {
      doc = emptyJobDocument(name);
    }
    this.#etags.set(key, object.etag);
    return { doc, etag: object.etag };
  }

  /**
   * Forgets the version of `name` last seen: the next `changed()` reads it again and returns it
   * even if unchanged, or a fresh document if there is none (what this instance has applied is
   * not known to be stored, see `JobControls.update`).
   */
  forget(name: string): void {
    this.#etags.delete(this.key(name));
    this.#unsettled.add(name);
  }

  /**
   * Applies `change` to the stored document (or a fresh one) by compare-and-swap, retrying when
   * another instance wrote in between. `change` returns `false` to leave the document as it is.
   */
  update(name: string, change: (doc: JobDocument) => boolean | undefined): Promise<JobDocument> {
    return this.#queue.run(name, () => this.#update(name, change));
  }

  async #update(name: string, change: (doc: JobDocument) => boolean | undefined): Promise<JobDocument> {
    const key = this.key(name);
    const seen = this.#etags.get(key);
    // Another instance wrote the document since this one last synced: the version read here
    // carries its changes (overrides above all), which the caller does not take up. So the
    // version is not remembered, and the next `changed()` returns the document to be taken up.
    let othersWrote = false;
    let wrote = false;
    const announce = this.announceWrites();
    let result: { value: JobDocument; etag: string | null };
    try {
      result = await readModifyWrite(this.store, key, {
        read: async () => {
          const current = await this.read(name);
          if (current && current.etag !== seen) othersWrote = true;
          return current && { value: current.doc, etag: current.etag };
        },
        fresh: () => emptyJobDocument(name),
        change: (doc) => {
          if (change(doc) === false) return false;
          doc.updatedAt = this.now();
          doc.nonce = createNonce();
          wrote = true;
          return true;
        },
        maxAttempts: MAX_CAS_ATTEMPTS,
      });
    } catch (error) {
      // A write that failed may have been stored all the same (a lost answer): announced too,
      // and this instance lists at its next heartbeat (it may not know the stored version).
      if (wrote) this.#behind = true;
      if (wrote && announce) await this.announceOwed(true);
      throw error;
    }
    const { value, etag } = result;
    if (othersWrote) {
      this.#etags.delete(key);
      this.#behind = true;
    } else if (etag !== null) this.#etags.set(key, etag);
    // Stored: the leader learns of it from the change signal. Its failure does not undo the
    // change (the caller would think it was not stored): it is retried at the next heartbeat.
    if (etag !== null && announce) await this.announceOwed(true);
    return value;
  }

  /**
   * Documents written since this instance last read them: one list, plus one read per change. A
   * document that does not decode, or that sits under another job's key, is passed to
   * `onCorrupted` (once per version, `STORE_CORRUPTED` naming the key) and left out: it affects
   * nothing but itself.
   */
  async changed(
    onCorrupted: (error: SchedulerError) => void = () => undefined,
    { list = true }: { list?: boolean } = {},
  ): Promise<JobDocument[]> {
    const changed: JobDocument[] = [];
    const listed = new Set<string>();
    const behind = this.#behind;
    this.#behind = false;
    try {
      if (list) await this.#readListed(listed, changed, onCorrupted);
    } catch (error) {
      this.#behind ||= behind;
      throw error;
    }
    if (list) {
      // A complete listing: documents no longer stored are forgotten, so digests stay comparable.
      for (const key of [...this.#etags.keys()]) if (!listed.has(key)) this.#etags.delete(key);
    }
    // Forgotten documents the listing did not show (none was stored), or not listed at all:
    // read on their own; one that cannot be read now is tried at the next call.
    for (const name of [...this.#unsettled]) {
      const current = await this.read(name).catch(() => undefined);
      if (current === undefined) continue;
      changed.push(current?.doc ?? emptyJobDocument(name));
      this.#unsettled.delete(name);
    }
    return changed;
  }

  async #readListed(
    listed: Set<string>,
    changed: JobDocument[],
    onCorrupted: (error: SchedulerError) => void,
  ): Promise<void> {
    for await (const object of listAll(this.store, PREFIX)) {
      listed.add(object.key);
      if (this.#etags.get(object.key) === object.etag) continue;
      const fresh = await this.store.get(object.key);
      if (!fresh) continue;
      this.#etags.set(object.key, fresh.etag);
      const name = nameOf(object.key);
      if (name !== undefined) this.#unsettled.delete(name);
      try {
        changed.push(decode(object.key, fresh.body, name, this.onInvalid));
      } catch (error) {
        onCorrupted(error as SchedulerError);
      }
    }
  }
}

/** A 64-bit FNV-1a digest of `text` (two 32-bit halves), in base 36. */
function digestOf(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    a = Math.imul(a ^ code, 0x01000193) >>> 0;
    b = Math.imul(b ^ code, 0x5bd1e995) >>> 0;
  }
  return `${a.toString(36)}.${b.toString(36)}`;
}

/** The job name a document key stands for, or `undefined` for a key no job document has. */
function nameOf(key: string): string | undefined {
  if (!key.startsWith(PREFIX) || !key.endsWith('.json')) return undefined;
  return decodeKeySegment(key.slice(PREFIX.length, -'.json'.length));
}

/** What is wrong with a parsed document, or `undefined` when every field has its type. */
function problemOf(doc: Record<string, unknown>, expectedName: string | undefined): string | undefined {
  if (doc.v !== 1) return 'v is not 1';
  if (typeof doc.name !== 'string') return 'name is not a string';
  if (doc.name !== expectedName) return `it names job '${doc.name}' but is stored under another job's key`;
  // Fields of the wrong type or out of bounds are not the document's corruption but a value's:
  // `sanitizeJobDocument` reports each one and leaves it out, and the rest still holds.
  return undefined;
}

/**
 * A stored document: `STORE_CORRUPTED` when it does not decode, has a field of the wrong type or
 * sits under another job's key; a value of the right type that is out of bounds (written by an
 * older version) is reported through `onInvalid` and left out.
 */
function decode(
  key: string,
  body: Uint8Array,
  expectedName: string | undefined,
  onInvalid: (error: SchedulerError) => void,
): JobDocument {
  let problem: string | undefined;
  let cause: unknown;
  let doc: Record<string, unknown> | undefined;
  try {
    const parsed = JSON.parse(new TextDecoder().decode(body)) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) problem = 'not an object';
    else {
      doc = parsed as Record<string, unknown>;
      problem = problemOf(doc, expectedName);
    }
  } catch (error) {
    problem = 'not JSON';
    cause = error;
  }
  if (problem === undefined && doc) {
    return sanitizeJobDocument(
      { ...emptyJobDocument(doc.name as string), ...doc } as JobDocument,
      onInvalid,
      key,
    );
  }
  throw new SchedulerError(`Stored job document '${key}' is corrupted: ${problem}`, {
    code: 'STORE_CORRUPTED',
    operation: 'readJobDocument',
    metadata: { key, reason: problem, ...(expectedName === undefined ? {} : { jobName: expectedName }) },
    suggestion:
      'The job runs with its definition in code meanwhile; its next runtime change (updateJob, enable, pause…) replaces the document. Inspect it if this was not expected.',
    cause,
  });
}
