import { abortReason, type Clock, systemClock } from '@s3-scheduler/core';
import sortedBtree from 'sorted-btree';
import { unquoteEtag } from '../etag.js';
import { compareKeys, keyTooLong, MAX_KEY_BYTES } from '../key-order.js';
import type {
  CreateEntry,
  CreateManyOptions,
  CreateResult,
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

// sorted-btree is CommonJS. Node's ESM loader hands over `module.exports`, whose `default` is the
// class; loaders that honour `__esModule` (Vitest, bundlers) hand over the class itself.
const BTree = (sortedBtree.default ?? sortedBtree) as typeof sortedBtree.default;

const utf8 = new TextEncoder();

interface MemoryObject {
  /** A string body is kept as given and encoded on its first read (most records are never read). */
  body: Uint8Array | string;
  etag: string;
  /** Epoch ms; a `Date` is made per read (one per stored object costs memory and collection time). */
  lastModified: number;
}

/**
 * One bucket: objects by key (a `Map`, so `get`/`head` cost O(1)) plus the keys in S3's order in
 * a B+ tree, so a put, a delete and the start of a list page cost O(log n) however many keys
 * the bucket holds (history grows to millions), and each listed key O(1) more.
 *
 * The tree holds each key as its "order key" (see `toOrderKey`), whose plain string order is
 * S3's UTF-8 byte order, so the tree compares with the engine's native string comparison
 * instead of a character loop (keys share long prefixes: a put compares about fifteen times).
 */
/** New keys kept out of the tree at most: beyond this they are ordered at once. */
const MAX_UNORDERED = 4096;

class MemoryBucket {
  readonly objects = new Map<string, MemoryObject>();
  readonly #order = new BTree<string, undefined>(undefined, nativeOrder);
  /**
   * New keys not yet in `#order`: put into the tree before the next ordered read, once the
   * event loop is free, or once there are `MAX_UNORDERED` of them, so a burst of creates (slot claims) starts its runs before it pays the
   * tree's inserts. `objects` is always current, so every put, get and condition is exact.
   */
  readonly #unordered = new Set<string>();
  #ordering: NodeJS.Immediate | undefined;

  set(key: string, object: MemoryObject): void {
    if (!this.objects.has(key)) {
      this.#unordered.add(key);
      if (this.#unordered.size >= MAX_UNORDERED) this.#orderPending();
      else this.#ordering ??= setImmediate(() => this.#orderPending()).unref();
    }
    this.objects.set(key, object);
  }

  remove(key: string): void {
    if (this.objects.delete(key) && !this.#unordered.delete(key)) this.#order.delete(toOrderKey(key));
  }

  /** Keys from `from` (inclusive) upwards, in order. */
  *keysFrom(from: string): IterableIterator<string> {
    this.#orderPending();
    for (const orderKey of this.#order.keys(toOrderKey(from))) yield fromOrderKey(orderKey);
  }

  /** The greatest key strictly below `key`, if any. */
  lastBefore(key: string): string | undefined {
    this.#orderPending();
    const below = this.#order.nextLowerKey(toOrderKey(key));
    return below === undefined ? undefined : fromOrderKey(below);
  }

  #orderPending(): void {
    if (this.#ordering) {
      clearImmediate(this.#ordering);
      this.#ordering = undefined;
    }
    if (this.#unordered.size === 0) return;
    for (const key of this.#unordered) this.#order.set(toOrderKey(key), undefined);
    this.#unordered.clear();
  }
}

function nativeOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Code units from U+D800 up: the only ones whose UTF-16 order differs from UTF-8's. */
const HIGH_UNITS = /[\uD800-\uFFFF]/;

/**
 * A key rewritten so that plain (UTF-16) string order is UTF-8 byte order (`compareKeys`):
 * U+E000–U+FFFF move down to 0xD800–0xF7FF and surrogates (astral characters) up to
 * 0xF800–0xFFFF, one code unit for one. Keys without such units (almost all) are unchanged.
 */
function toOrderKey(key: string): string {
  if (!HIGH_UNITS.test(key)) return key;
  let out = '';
  for (let i = 0; i < key.length; i++) {
    const unit = key.charCodeAt(i);
    out += String.fromCharCode(unit < 0xd800 ? unit : unit >= 0xe000 ? unit - 0x800 : unit + 0x2000);
  }
  return out;
}

/** The inverse of `toOrderKey`. */
function fromOrderKey(orderKey: string): string {
  if (!HIGH_UNITS.test(orderKey)) return orderKey;
  let out = '';
  for (let i = 0; i < orderKey.length; i++) {
    const unit = orderKey.charCodeAt(i);
    out += String.fromCharCode(unit < 0xd800 ? unit : unit >= 0xf800 ? unit - 0x2000 : unit + 0x800);
  }
  return out;
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
 * (a fresh ETag per write, UTF-8 key order, 1,000-key pages, 412 on a failed condition).
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
      ? { body: bytesOf(object).slice(), etag: object.etag, lastModified: new Date(object.lastModified) }
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
    return { etag: this.#write(key, body) };
  }

  /**
   * Every entry's create-only put in one synchronous pass, results in input order (see
   * `ObjectStore.createMany`): a burst of claims costs one promise, not one per key. An invalid
   * key is that entry's `failed`; an already aborted `signal` rejects the whole call.
   */
  async createMany(
    entries: readonly CreateEntry[],
    options: CreateManyOptions = {},
  ): Promise<CreateResult[]> {
    checkSignal(options.signal);
    const results = new Array<CreateResult>(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const { key, body } = entries[i]!;
      try {
        checkKey(key);
      } catch (error) {
        results[i] = { status: 'failed', error };
        continue;
      }
      results[i] = this.#bucket.objects.has(key)
        ? { status: 'exists' }
        : { status: 'created', etag: this.#write(key, body) };
    }
    return results;
  }

  /** Stores `body` under `key` (conditions already checked) and returns its new ETag. */
  #write(key: string, body: Uint8Array | string): string {
    const etag = nextEtag();
    this.#bucket.set(key, {
      body: typeof body === 'string' ? flat(body) : body.slice(),
      etag,
      lastModified: this.#now(),
    });
    return etag;
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
    const after =
      options.startAfter !== undefined && compareKeys(options.startAfter, prefix) > 0
        ? options.startAfter
        : undefined;
    const objects: ObjectInfo[] = [];
    const commonPrefixes: string[] = [];
    let last: string | undefined;
    let from = after ?? prefix;
    // One ordered walk from `from`; a delimiter group restarts the walk after the group's range.
    walk: for (;;) {
      for (const key of this.#bucket.keysFrom(from)) {
        if (key === after) continue;
        if (!key.startsWith(prefix)) break walk;
        if (objects.length + commonPrefixes.length >= limit)
          return { objects, commonPrefixes, nextStartAfter: last! };
        const cut = options.delimiter ? key.indexOf(options.delimiter, prefix.length) : -1;
        if (cut >= 0) {
          const group = key.slice(0, cut + options.delimiter!.length);
          commonPrefixes.push(group);
          // Skip every key in this group: continue from the first key after the group's range.
          from = `${group}\u{10FFFF}`;
          last = this.#bucket.lastBefore(from) ?? group;
          continue walk;
        }
        objects.push(info(key, this.#bucket.objects.get(key)!));
        last = key;
      }
      break;
    }
    return { objects, commonPrefixes };
  }
}

let etagCounter = 0;
/**
 * An ETag's first 19 characters: 8 that tell this process's ETags apart from those of other
 * processes (and of earlier runs), then zeros; the counter fills the last 13.
 */
const etagHead = `${Math.floor(Math.random() * 2 ** 32)
  .toString(16)
  .padStart(8, '0')}00000000000`;
/** Added to the counter so that its hex form always has 13 digits (the counter stays below 2^48). */
const COUNTER_BASE = 2 ** 48;

/**
 * A fresh ETag for every write: 32 hex characters like S3's MD5 ETags, but from a counter,
 * since hashing every body cost more than the rest of a put. Unique per write in this process,
 * so every conditional write compares exactly as on S3 (a different body always has a different
 * ETag); one difference, on the safe side: rewriting identical bytes also changes it.
 */
function nextEtag(): string {
  // One short string and one concatenation per write (padding a counter cost ~190 bytes a write).
  return etagHead + (COUNTER_BASE + ++etagCounter).toString(16);
}

/**
 * `text`, flattened: V8 builds a long string from parts (`JSON.stringify` of a run record
 * returns a rope of five or so) and keeps the rope until something reads it through. Reading one
 * character makes it one flat string now, so what the bucket keeps for as long as the history
 * does is one string, not a tree of them (measured: 14 % less heap per stored run record).
 */
function flat(text: string): string {
  text.charCodeAt(0);
  return text;
}

/** The object's bytes (a string body is encoded now, once). */
function bytesOf(object: MemoryObject): Uint8Array {
  if (typeof object.body === 'string') object.body = utf8.encode(object.body);
  return object.body;
}

function info(key: string, object: MemoryObject): ObjectInfo {
  return {
    key,
    etag: object.etag,
    size: typeof object.body === 'string' ? Buffer.byteLength(object.body, 'utf8') : object.body.byteLength,
    lastModified: new Date(object.lastModified),
  };
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw invalidKey(key, 'empty or not a string');
  if (keyTooLong(key)) throw invalidKey(key, `longer than ${MAX_KEY_BYTES} bytes of UTF-8`);
}

function checkSignal(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}
