import { createHash } from 'node:crypto';
import { abortReason, type Clock, systemClock } from '@s3-scheduler/core';
import { unquoteEtag } from '../etag.js';
import { compareKeys, keyByteLength, MAX_KEY_BYTES } from '../key-order.js';
import type {
  DeleteOptions,
  ListOptions,
  ListPage,
  ObjectInfo,
  ObjectStore,
  PutOptions,
  ReadOptions,
  StoredObject,
} from '../object-store.js';
import { invalidKey, preconditionFailed } from '../store-errors.js';

interface MemoryObject {
  body: Uint8Array;
  etag: string;
  lastModified: Date;
}

/** One bucket: objects by key plus the keys kept sorted, so listing costs O(log n + page). */
class MemoryBucket {
  readonly objects = new Map<string, MemoryObject>();
  readonly sortedKeys: string[] = [];

  indexOf(key: string): { found: boolean; index: number } {
    let low = 0;
    let high = this.sortedKeys.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const order = compareKeys(this.sortedKeys[mid]!, key);
      if (order === 0) return { found: true, index: mid };
      if (order < 0) low = mid + 1;
      else high = mid;
    }
    return { found: false, index: low };
  }

  set(key: string, object: MemoryObject): void {
    if (!this.objects.has(key)) this.sortedKeys.splice(this.indexOf(key).index, 0, key);
    this.objects.set(key, object);
  }

  remove(key: string): void {
    if (!this.objects.delete(key)) return;
    const { found, index } = this.indexOf(key);
    if (found) this.sortedKeys.splice(index, 1);
  }
}

// Named buckets live as long as the process, so several scheduler instances in one process
// (and `memory://name/...` connection strings) share their data.
const namedBuckets = new Map<string, MemoryBucket>();

export interface MemoryStoreOptions {
  /** Share the process-wide bucket of this name. Without it the store gets a private bucket. */
  bucket?: string;
  /** Source of `lastModified`. Default the system clock. */
  clock?: Clock;
  /** Injectable for tests that need stable `lastModified` values (wins over `clock`). */
  now?: () => number;
}

/**
 * The embedded store: the full storage contract, in memory, with S3's observable behaviour
 * (MD5 ETags, UTF-8 key order, 1,000-key pages, 412 on a failed condition).
 */
export class MemoryStore implements ObjectStore {
  readonly description: string;
  readonly #bucket: MemoryBucket;
  readonly #now: () => number;

  constructor(options: MemoryStoreOptions = {}) {
    const clock = options.clock ?? systemClock;
    this.#now = options.now ?? (() => clock.now());
    if (options.bucket === undefined) {
      this.#bucket = new MemoryBucket();
      this.description = 'memory://(private)';
    } else {
      let bucket = namedBuckets.get(options.bucket);
      if (!bucket) {
        bucket = new MemoryBucket();
        namedBuckets.set(options.bucket, bucket);
      }
      this.#bucket = bucket;
      this.description = `memory://${options.bucket}`;
    }
  }

  /** Forgets a process-wide named bucket (for tests that reuse names). */
  static resetBucket(name: string): void {
    namedBuckets.delete(name);
  }

  /** Number of objects in the bucket. */
  get size(): number {
    return this.#bucket.objects.size;
  }

  async get(key: string, options: ReadOptions = {}): Promise<StoredObject | null> {
    checkKey(key);
    checkSignal(options.signal);
    const object = this.#bucket.objects.get(key);
    return object
      ? { body: object.body.slice(), etag: object.etag, lastModified: object.lastModified }
      : null;
  }

  async head(key: string, options: ReadOptions = {}): Promise<ObjectInfo | null> {
    checkKey(key);
    checkSignal(options.signal);
    const object = this.#bucket.objects.get(key);
    return object ? info(key, object) : null;
  }

  async put(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<{ etag: string }> {
    checkKey(key);
    checkSignal(options.signal);
    const current = this.#bucket.objects.get(key);
    if (options.ifNoneMatch === '*' && current) throw preconditionFailed(key, 'If-None-Match: *');
    if (options.ifMatch !== undefined && current?.etag !== unquoteEtag(options.ifMatch)) {
      throw preconditionFailed(key, `If-Match: ${unquoteEtag(options.ifMatch)}`);
    }
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body.slice();
    const etag = createHash('md5').update(bytes).digest('hex');
    this.#bucket.set(key, { body: bytes, etag, lastModified: new Date(this.#now()) });
    return { etag };
  }

  async delete(key: string, options: DeleteOptions = {}): Promise<void> {
    checkKey(key);
    checkSignal(options.signal);
    const current = this.#bucket.objects.get(key);
    if (options.ifMatch !== undefined && current && current.etag !== unquoteEtag(options.ifMatch)) {
      throw preconditionFailed(key, `If-Match: ${unquoteEtag(options.ifMatch)}`);
    }
    this.#bucket.remove(key);
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    checkSignal(options.signal);
    const limit = Math.max(1, Math.min(options.limit ?? 1000, 1000));
    const keys = this.#bucket.sortedKeys;
    const after =
      options.startAfter !== undefined && compareKeys(options.startAfter, prefix) > 0
        ? options.startAfter
        : undefined;
    let index = after === undefined ? this.#bucket.indexOf(prefix).index : this.#bucket.indexOf(after).index;
    if (after !== undefined && keys[index] === after) index++;
    const objects: ObjectInfo[] = [];
    const commonPrefixes: string[] = [];
    let last: string | undefined;
    for (; index < keys.length; index++) {
      const key = keys[index]!;
      if (!key.startsWith(prefix)) break;
      if (objects.length + commonPrefixes.length >= limit)
        return { objects, commonPrefixes, nextStartAfter: last! };
      const cut = options.delimiter ? key.indexOf(options.delimiter, prefix.length) : -1;
      if (cut >= 0) {
        const group = key.slice(0, cut + options.delimiter!.length);
        commonPrefixes.push(group);
        last = group;
        // Skip every key in this group: jump to the first key after the group's range.
        index = this.#bucket.indexOf(`${group}\u{10FFFF}`).index - 1;
        last = keys[index] ?? group;
        continue;
      }
      objects.push(info(key, this.#bucket.objects.get(key)!));
      last = key;
    }
    return { objects, commonPrefixes };
  }
}

function info(key: string, object: MemoryObject): ObjectInfo {
  return { key, etag: object.etag, size: object.body.byteLength, lastModified: object.lastModified };
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw invalidKey(key, 'empty or not a string');
  if (keyByteLength(key) > MAX_KEY_BYTES)
    throw invalidKey(key, `longer than ${MAX_KEY_BYTES} bytes of UTF-8`);
}

function checkSignal(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}
