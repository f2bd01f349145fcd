import type { Clock } from '@s3-scheduler/core';
import { ForwardingStore, type ObjectStore, type StoreOperation } from '@s3-scheduler/storage';
import { DEFAULT_LAYOUT } from '../layout.js';

/**
 * A slow store, on the test's clock, as S3 is slow: every write takes `putDelayMs`, and a listing
 * of `active/` (the remote runs a new leader reads first) takes `activeListDelayMs` (ms, or a
 * function of now giving them). Counts writes per key. Has no `createMany`, so claims go one by
 * one, as on S3.
 */
export class SlowStore extends ForwardingStore {
  /** Writes per key. */
  readonly puts = new Map<string, number>();

  constructor(
    inner: ObjectStore,
    private readonly clock: Clock,
    public putDelayMs = 0,
    private readonly activeListDelayMs: number | ((now: number) => number) = 0,
  ) {
    super(inner);
  }

  protected override async around<T>(operation: StoreOperation, key: string, request: () => Promise<T>) {
    if (operation === 'list' && key.startsWith(DEFAULT_LAYOUT.inBucket(DEFAULT_LAYOUT.active))) {
      const delay = this.activeListDelayMs;
      await this.clock.sleep(typeof delay === 'number' ? delay : delay(this.clock.now()));
    }
    if (operation === 'put') {
      this.puts.set(key, (this.puts.get(key) ?? 0) + 1);
      if (this.putDelayMs > 0) await this.clock.sleep(this.putDelayMs);
    }
    return request();
  }
}
