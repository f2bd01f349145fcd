import { createAll } from './create-all.js';
import type {
  CreateEntry,
  CreateManyOptions,
  CreateResult,
  DeleteOptions,
  ListOptions,
  ListPage,
  ObjectStore,
  PutOptions,
  ReadOptions,
} from './object-store.js';

/**
 * A view of a store under one key prefix (such as `plugin=scheduler/`). Keys given to it are
 * relative; keys it lists are relative again, so callers never see or escape the prefix.
 */
export class PrefixedStore implements ObjectStore {
  readonly description: string;
  readonly prefix: string;
  readonly resolvesOutcomes: boolean;

  constructor(
    readonly inner: ObjectStore,
    prefix: string,
  ) {
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.resolvesOutcomes = inner.resolvesOutcomes === true;
    this.description = `${inner.description.replace(/\/$/, '')}/${this.prefix}`;
    if (inner.createMany) {
      this.createMany = (entries, options) =>
        createAll(
          inner,
          entries.map((entry) => ({ ...entry, key: this.prefix + entry.key })),
          options,
        );
    }
  }

  get(key: string, options?: ReadOptions) {
    return this.inner.get(this.prefix + key, options);
  }

  async head(key: string, options?: ReadOptions) {
    const info = await this.inner.head(this.prefix + key, options);
    return info ? { ...info, key } : null;
  }

  put(key: string, body: Uint8Array | string, options?: PutOptions) {
    return this.inner.put(this.prefix + key, body, options);
  }

  /** The inner store's batch under the prefix; present only when the inner store has one. */
  readonly createMany?: (
    entries: readonly CreateEntry[],
    options?: CreateManyOptions,
  ) => Promise<CreateResult[]>;

  delete(key: string, options?: DeleteOptions) {
    return this.inner.delete(this.prefix + key, options);
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    const cut = this.prefix.length;
    const page = await this.inner.list(this.prefix + prefix, {
      ...options,
      ...(options.startAfter === undefined ? {} : { startAfter: this.prefix + options.startAfter }),
    });
    const result: ListPage = {
      objects: page.objects.map((object) => ({ ...object, key: object.key.slice(cut) })),
      commonPrefixes: page.commonPrefixes.map((group) => group.slice(cut)),
    };
    if (page.nextStartAfter !== undefined) result.nextStartAfter = page.nextStartAfter.slice(cut);
    return result;
  }
}
