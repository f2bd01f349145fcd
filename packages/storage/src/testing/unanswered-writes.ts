import { ForwardingStore, type StoreOperation } from '../forwarding-store.js';
import { storeUnavailable } from '../store-errors.js';

/**
 * Test store: the next `unanswered` puts to keys starting with `prefix` are applied, then fail
 * with `STORE_UNAVAILABLE` as if their answer never came and a re-read could not settle it (what
 * `ResolvingStore` throws once its retry budget is spent). It says it settles outcomes itself, so
 * clients do not wrap it in a `ResolvingStore` that would settle it for them.
 */
export class UnansweredWrites extends ForwardingStore {
  /** How many more matching puts land unanswered. */
  unanswered = 0;

  constructor(
    inner: ConstructorParameters<typeof ForwardingStore>[0],
    private readonly prefix = '',
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
    if (operation !== 'put' || !key.startsWith(this.prefix) || this.unanswered === 0) return request();
    this.unanswered--;
    return request().then(() => {
      throw storeUnavailable('put', key, { reason: 'timeout' });
    });
  }
}
