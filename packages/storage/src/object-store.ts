/**
 * The storage contract every guarantee of the scheduler stands on. A backend needs only these
 * five operations; conditional `put` is what makes locks, leadership and slot claims safe.
 */
export interface StoredObject {
  /** The object's bytes. */
  body: Uint8Array;
  /** The ETag, always without quotes. */
  etag: string;
  lastModified: Date;
}

export interface ObjectInfo {
  key: string;
  /** The ETag, always without quotes. */
  etag: string;
  size: number;
  lastModified: Date;
}

/**
 * `ifNoneMatch: '*'` creates only if the key is absent; `ifMatch` overwrites only if the
 * current ETag equals the one given. A failed condition throws a `SchedulerError` with code
 * `PRECONDITION_FAILED` (see `isPreconditionFailed`), never a generic failure.
 */
export interface PutOptions {
  ifNoneMatch?: '*';
  ifMatch?: string;
  contentType?: string;
  signal?: AbortSignal;
}

export interface DeleteOptions {
  /** Delete only if the current ETag equals this one. Servers differ; see the README. */
  ifMatch?: string;
  signal?: AbortSignal;
}

export interface ListOptions {
  /** Return only keys strictly after this one (a full key, prefix included). */
  startAfter?: string;
  /** Group keys by the part after `prefix` up to this string, as S3 does (usually `/`). */
  delimiter?: string;
  /** Upper bound on keys plus common prefixes returned in this page (at most 1,000). */
  limit?: number;
  signal?: AbortSignal;
}

export interface ListPage {
  /** Objects in ascending UTF-8 byte order of their keys. */
  objects: ObjectInfo[];
  /** With a delimiter: the distinct prefixes that group deeper keys, ascending. */
  commonPrefixes: string[];
  /** Present when more results exist: pass it as `startAfter` to read the next page. */
  nextStartAfter?: string;
}

/** One key of a batch create-only put (`createMany`, `createAll`). */
export interface CreateEntry {
  key: string;
  body: Uint8Array | string;
  contentType?: string;
}

/**
 * How one key of a batch create-only put ended: `created` (this write made the key, with `etag`),
 * `exists` (the key was already there: `If-None-Match: *` failed, nothing was written) or
 * `failed` (`error`, as `put` would have thrown it; the key's state is what `put` leaves then).
 */
export type CreateResult =
  | { status: 'created'; etag: string }
  | { status: 'exists' }
  | { status: 'failed'; error: unknown };

export interface CreateManyOptions {
  signal?: AbortSignal;
}

export interface ReadOptions {
  signal?: AbortSignal;
}

/** The methods every `ObjectStore` has: what a store passed in as an option is checked for. */
export const OBJECT_STORE_METHODS = ['get', 'head', 'put', 'delete', 'list'] as const;

export interface ObjectStore {
  /** A human-readable description without secrets, such as `memory://default/scheduler`. */
  readonly description: string;
  /**
   * True when writes whose outcome was unknown are already settled below this store (it is, or
   * wraps, a `ResolvingStore`), so layers above need not wrap it again (see `withResolvedOutcomes`).
   */
  readonly resolvesOutcomes?: boolean;
  get(key: string, options?: ReadOptions): Promise<StoredObject | null>;
  head(key: string, options?: ReadOptions): Promise<ObjectInfo | null>;
  put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<{ etag: string }>;
  /** Deleting a missing key succeeds. */
  delete(key: string, options?: DeleteOptions): Promise<void>;
  list(prefix: string, options?: ListOptions): Promise<ListPage>;
  /**
   * Optional: a create-only put (`If-None-Match: *`) of each entry, results in input order. Each
   * key is independent (one failing or existing does not affect another); nothing is atomic
   * across keys. A store without it is written one `put` per entry by `createAll`, which is what
   * callers use. A store has it when it can do better than that (`MemoryStore`: all in one call).
   */
  createMany?(entries: readonly CreateEntry[], options?: CreateManyOptions): Promise<CreateResult[]>;
}
