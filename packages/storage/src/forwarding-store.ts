import type {
  DeleteOptions,
  ListOptions,
  ListPage,
  ObjectInfo,
  ObjectStore,
  PutOptions,
  ReadOptions,
  StoredObject,
} from './object-store.js';

export type StoreOperation = 'get' | 'head' | 'put' | 'delete' | 'list';

/**
 * A store that passes every request to `inner` through one hook, `around`: the base of the
 * wrappers that count, delay, hold or drop requests, so each only says what it does differently.
 */
export class ForwardingStore implements ObjectStore {
  readonly description: string;

  constructor(readonly inner: ObjectStore) {
    this.description = inner.description;
  }

  get resolvesOutcomes(): boolean {
    return this.inner.resolvesOutcomes === true;
  }

  /** Every request goes through here; the default sends it on unchanged. */
  protected around<T>(_operation: StoreOperation, _key: string, request: () => Promise<T>): Promise<T> {
    return request();
  }

  get(key: string, options?: ReadOptions): Promise<StoredObject | null> {
    return this.around('get', key, () => this.inner.get(key, options));
  }

  head(key: string, options?: ReadOptions): Promise<ObjectInfo | null> {
    return this.around('head', key, () => this.inner.head(key, options));
  }

  put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<{ etag: string }> {
    return this.around('put', key, () => this.inner.put(key, body, options));
  }

  delete(key: string, options?: DeleteOptions): Promise<void> {
    return this.around('delete', key, () => this.inner.delete(key, options));
  }

  list(prefix: string, options?: ListOptions): Promise<ListPage> {
    return this.around('list', prefix, () => this.inner.list(prefix, options));
  }
}
