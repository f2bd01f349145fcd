import type { Clock } from '@s3-scheduler/core';
import { ForwardingStore, type StoreOperation } from '../forwarding-store.js';

/**
 * Test store: the next `late` puts to keys starting with `prefix` are applied at once, and their
 * answer arrives `delayMs` later on `clock` (a slow or hanging store that applied the write long
 * before it said so). Other requests pass through unchanged.
 */
export class LateAnswers extends ForwardingStore {
  /** How many more matching puts are answered late. */
  late = 0;

  constructor(
    inner: ConstructorParameters<typeof ForwardingStore>[0],
    private readonly clock: Clock,
    /** How long (ms) after applying a matching put its answer comes. */
    public delayMs: number,
    private readonly prefix = '',
  ) {
    super(inner);
  }

  protected override async around<T>(
    operation: StoreOperation,
    key: string,
    request: () => Promise<T>,
  ): Promise<T> {
    if (operation !== 'put' || !key.startsWith(this.prefix) || this.late === 0) return request();
    this.late--;
    const result = await request();
    await this.clock.sleep(this.delayMs);
    return result;
  }
}
