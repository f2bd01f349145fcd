import {
  type Clock,
  checkString,
  createNonce,
  invalidOption,
  SchedulerError,
  systemClock,
} from '@s3-scheduler/core';
import { decodeKeySegment, encodeKeySegment } from './key-encoding.js';
import { compareKeys } from './key-order.js';
import { listAll } from './list-all.js';
import type { ObjectStore, StoredObject } from './object-store.js';
import { isPreconditionFailed } from './store-errors.js';

export interface PluginStorageOptions {
  /** Time source of TTLs. Default the system clock. */
  clock?: Clock;
}

export interface SetOptions {
  /** Time to live in milliseconds: after it, reads treat the document as absent. */
  ttlMs?: number;
  signal?: AbortSignal;
}

export interface Versioned<T> {
  data: T;
  /** The ETag: pass it to `setIfVersion`. */
  version: string;
}

/** The stored shape of a document. `nonce` makes every write's bytes unique (see ResolvingStore). */
interface Envelope {
  v: 1;
  key: string;
  nonce: string;
  expiresAt?: number;
  data: unknown;
}

/**
 * Namespaced JSON documents on any `ObjectStore`, with optional TTLs and compare-and-swap.
 * Keys are user text; `/` separates levels, and every level is encoded with `encodeKeySegment`,
 * so no key escapes `plugin=<namespace>/` or collides with another. TTLs are enforced on read
 * (an expired document reads as absent and can be created again); nothing is deleted behind the
 * caller's back. A stored object that is not one of ours fails with `STORE_CORRUPTED`.
 */
export class PluginStorage {
  readonly namespace: string;
  readonly #store: ObjectStore;
  readonly #root: string;
  readonly #clock: Clock;

  constructor(store: ObjectStore, namespace: string, options: PluginStorageOptions = {}) {
    checkString(
      namespace,
      { operation: 'PluginStorage', option: 'namespace' },
      { minLength: 1, maxLength: 256 },
    );
    this.namespace = namespace;
    this.#store = store;
    this.#root = `plugin=${encodeKeySegment(namespace)}/`;
    this.#clock = options.clock ?? systemClock;
  }

  /** The document, or `null` when it is missing or expired. */
  async get<T = unknown>(key: string, options: { signal?: AbortSignal } = {}): Promise<T | null> {
    return (await this.getWithVersion<T>(key, options))?.data ?? null;
  }

  /** The document and its version, or `null` when it is missing or expired. */
  async getWithVersion<T = unknown>(
    key: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<Versioned<T> | null> {
    const found = await this.#read(key, options.signal);
    if (!found || this.#expired(found.envelope)) return null;
    return { data: found.envelope.data as T, version: found.object.etag };
  }

  /** Writes the document unconditionally; returns its new version. */
  async set<T>(key: string, data: T, options: SetOptions = {}): Promise<string> {
    const { etag } = await this.#store.put(
      this.#objectKey(key),
      this.#encode(key, data, options),
      this.#putOptions(options),
    );
    return etag;
  }

  /**
   * Creates the document if it does not exist (or has expired); returns its version, or `null`
   * when a live document is there already.
   */
  async setIfNotExists<T>(key: string, data: T, options: SetOptions = {}): Promise<string | null> {
    const objectKey = this.#objectKey(key);
    try {
      const { etag } = await this.#store.put(objectKey, this.#encode(key, data, options), {
        ...this.#putOptions(options),
        ifNoneMatch: '*',
      });
      return etag;
    } catch (error) {
      if (!isPreconditionFailed(error)) throw error;
    }
    // An expired document counts as absent: replace it, but only if it is still the same one.
    const found = await this.#read(key, options.signal);
    if (!found) return this.setIfNotExists(key, data, options);
    if (!this.#expired(found.envelope)) return null;
    return this.setIfVersion(key, data, found.object.etag, options);
  }

  /** Overwrites the document only if its version is still `version`; else returns `null`. */
  async setIfVersion<T>(
    key: string,
    data: T,
    version: string,
    options: SetOptions = {},
  ): Promise<string | null> {
    try {
      const { etag } = await this.#store.put(this.#objectKey(key), this.#encode(key, data, options), {
        ...this.#putOptions(options),
        ifMatch: version,
      });
      return etag;
    } catch (error) {
      if (isPreconditionFailed(error)) return null;
      throw error;
    }
  }

  /** Deletes the document; deleting a missing one succeeds. */
  async delete(key: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.#store.delete(
      this.#objectKey(key),
      options.signal === undefined ? {} : { signal: options.signal },
    );
  }

  /**
   * Keys that start with `prefix`, in ascending (UTF-8 byte) order. Expired documents
   * are listed until something deletes them (TTLs are checked on read).
   */
  async list(prefix = '', options: { signal?: AbortSignal } = {}): Promise<string[]> {
    const keys: string[] = [];
    const listOptions = options.signal === undefined ? {} : { signal: options.signal };
    for await (const object of listAll(this.#store, this.#root + encodePrefix(prefix), listOptions)) {
      const relative = object.key.slice(this.#root.length);
      let key = decodeKey(relative);
      // A shortened (hashed) level cannot be decoded: the document names its own key.
      if (key === undefined)
        key = (await this.#readObject(object.key, undefined, options.signal))?.envelope.key;
      if (key?.startsWith(prefix)) keys.push(key);
    }
    return keys.sort(compareKeys);
  }

  /** The object key of a document key (for debugging and tests). */
  objectKey(key: string): string {
    return this.#objectKey(key);
  }

  #objectKey(key: string): string {
    if (typeof key !== 'string' || key === '') {
      throw new SchedulerError('PluginStorage keys must be non-empty strings', {
        code: 'INVALID_KEY',
        operation: 'PluginStorage',
        metadata: { key },
        suggestion: "Use a key such as 'locks/my-job'.",
      });
    }
    return this.#root + key.split('/').map(encodeKeySegment).join('/');
  }

  #encode(key: string, data: unknown, options: SetOptions): string {
    const envelope: Envelope = { v: 1, key, nonce: createNonce(), data };
    if (options.ttlMs !== undefined) {
      if (!(options.ttlMs > 0) || !Number.isFinite(options.ttlMs)) {
        throw invalidOption(
          { operation: 'set', option: 'ttlMs' },
          options.ttlMs,
          'a positive, finite number of milliseconds',
          'Pass ttlMs: 60_000 for a minute, or leave it out for no expiry.',
        );
      }
      envelope.expiresAt = this.#clock.now() + options.ttlMs;
    }
    if (data === undefined || typeof data === 'function' || typeof data === 'symbol')
      throw notSerializable(key, undefined);
    try {
      return JSON.stringify(envelope);
    } catch (error) {
      throw notSerializable(key, error);
    }
  }

  #putOptions(options: SetOptions) {
    return {
      contentType: 'application/json',
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    };
  }

  #expired(envelope: Envelope): boolean {
    return envelope.expiresAt !== undefined && this.#clock.now() >= envelope.expiresAt;
  }

  #read(key: string, signal: AbortSignal | undefined) {
    return this.#readObject(this.#objectKey(key), key, signal);
  }

  async #readObject(
    objectKey: string,
    key: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<{ object: StoredObject; envelope: Envelope } | null> {
    const object = await this.#store.get(objectKey, signal === undefined ? {} : { signal });
    if (!object) return null;
    return { object, envelope: parseEnvelope(object.body, objectKey, key) };
  }
}

function parseEnvelope(body: Uint8Array, objectKey: string, key: string | undefined): Envelope {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (error) {
    throw corrupted(objectKey, key, 'not valid UTF-8 JSON', error);
  }
  const envelope = value as Partial<Envelope> | null;
  if (
    typeof envelope !== 'object' ||
    envelope === null ||
    envelope.v !== 1 ||
    typeof envelope.key !== 'string' ||
    !('data' in envelope) ||
    (envelope.expiresAt !== undefined && typeof envelope.expiresAt !== 'number')
  ) {
    throw corrupted(objectKey, key, 'not a PluginStorage document (expected { v: 1, key, nonce, data })');
  }
  if (key !== undefined && envelope.key !== key) {
    throw corrupted(objectKey, key, `it names another key ('${envelope.key.slice(0, 200)}')`);
  }
  return envelope as Envelope;
}

function corrupted(
  objectKey: string,
  key: string | undefined,
  problem: string,
  cause?: unknown,
): SchedulerError {
  return new SchedulerError(`Stored object '${objectKey}' is corrupted: ${problem}`, {
    code: 'STORE_CORRUPTED',
    operation: 'get',
    metadata: { objectKey, ...(key === undefined ? {} : { key }), problem },
    suggestion:
      'Something other than the scheduler wrote this object. Inspect it, then delete or restore it.',
    cause,
  });
}

function notSerializable(key: string, cause: unknown): SchedulerError {
  return new SchedulerError(`The value for '${key}' cannot be stored as JSON`, {
    code: 'INVALID_OPTION',
    operation: 'set',
    metadata: { key },
    suggestion: 'Store plain JSON data: no functions, symbols, BigInts or cycles.',
    cause,
  });
}

function decodeKey(relative: string): string | undefined {
  const levels: string[] = [];
  for (const segment of relative.split('/')) {
    const level = decodeKeySegment(segment);
    if (level === undefined) return undefined;
    levels.push(level);
  }
  return levels.join('/');
}

/**
 * The longest stored-key prefix shared by every key that starts with `prefix`. The last level
 * is partial, so it is encoded without the empty-level marker and cut short enough that a
 * shortened (hashed) level still starts with it; `list` filters the rest exactly.
 */
function encodePrefix(prefix: string): string {
  if (prefix === '') return '';
  const levels = prefix.split('/');
  const last = levels.pop()!;
  const head = levels.map((level) => `${encodeKeySegment(level)}/`).join('');
  if (last === '') return head;
  // Shortened levels keep at least their first 118 characters of plain encoding; 100 is safe.
  return (
    head +
    encodeKeySegment(last)
      .slice(0, 100)
      .replace(/%[0-9A-F]?$/, '')
  );
}
