import { ForwardingStore, type StoreOperation } from '../forwarding-store.js';
import type { ObjectStore } from '../object-store.js';
import { storeUnavailable } from '../store-errors.js';

/**
 * Test store: every put for which `refuse(key)` returns true fails with `STORE_UNAVAILABLE` (a
 * 503, as S3 answers under load) and is not applied. A refusal is known not to have landed, so it
 * says it settles outcomes itself: clients do not wrap it in a `ResolvingStore` that would retry
 * the put before the code under test sees the refusal. `refuse` is asked once per put, in the
 * order the puts are made; it may count or record what it refuses.
 */
export class RefusedWrites extends ForwardingStore {
  constructor(
    inner: ObjectStore,
    private readonly refuse: (key: string) => boolean,
  ) {
    super(inner);
  }

  override get resolvesOutcomes(): boolean {
    return true;
  }

  protected override around<T>(
    operation: StoreOperation,
    key: string,
    request: () => Promise<T>,
  ): Promise<T> {
    if (operation !== 'put' || !this.refuse(key)) return request();
    return Promise.reject(storeUnavailable('put', key, { statusCode: 503 }));
  }
}
