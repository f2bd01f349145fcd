import { recordStoreOperation } from '@s3-scheduler/core/testing';
import { ForwardingStore, type StoreOperation } from '../forwarding-store.js';

export type RequestKind = StoreOperation;

/** Wraps any store and counts requests by kind, for cost benchmarks and cost assertions. */
export class CountingStore extends ForwardingStore {
  readonly counts: Record<RequestKind, number> = { get: 0, head: 0, put: 0, delete: 0, list: 0 };

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

  protected override around<T>(
    operation: StoreOperation,
    key: string,
    request: () => Promise<T>,
  ): Promise<T> {
    this.counts[operation]++;
    recordStoreOperation('counting', operation, key, 'sent'); // for a failing test's report
    return request();
  }
}
