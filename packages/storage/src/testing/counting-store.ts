import type { DeleteOptions, ListOptions, ObjectStore, PutOptions, ReadOptions } from '../object-store.js';

export type RequestKind = 'get' | 'head' | 'put' | 'delete' | 'list';

/** Wraps any store and counts requests by kind, for cost benchmarks and cost assertions. */
export class CountingStore implements ObjectStore {
  readonly description: string;
  readonly counts: Record<RequestKind, number> = { get: 0, head: 0, put: 0, delete: 0, list: 0 };

  constructor(readonly inner: ObjectStore) {
    this.description = inner.description;
  }

  /** All requests counted so far. */
  get total(): number {
    return Object.values(this.counts).reduce((sum, count) => sum + count, 0);
  }

  /** Writes (put and delete), the requests S3 bills at the higher rate. */
  get writes(): number {
    return this.counts.put + this.counts.delete;
  }

  reset(): void {
    for (const kind of Object.keys(this.counts) as RequestKind[]) this.counts[kind] = 0;
  }

  /** A copy of the counts, to diff before and after an operation. */
  snapshot(): Record<RequestKind, number> & { total: number } {
    return { ...this.counts, total: this.total };
  }

  get(key: string, options?: ReadOptions) {
    this.counts.get++;
    return this.inner.get(key, options);
  }

  head(key: string, options?: ReadOptions) {
    this.counts.head++;
    return this.inner.head(key, options);
  }

  put(key: string, body: Uint8Array | string, options?: PutOptions) {
    this.counts.put++;
    return this.inner.put(key, body, options);
  }

  delete(key: string, options?: DeleteOptions) {
    this.counts.delete++;
    return this.inner.delete(key, options);
  }

  list(prefix: string, options?: ListOptions) {
    this.counts.list++;
    return this.inner.list(prefix, options);
  }
}
