import type { Clock } from '@s3-scheduler/core';
import { SchedulerError } from '@s3-scheduler/core';
import { HistoryStore } from '@s3-scheduler/history';
import { connect, type ObjectStore, openStore } from '@s3-scheduler/storage';
import { JobDocuments } from '../jobs/job-document.js';
import { schedulerLayout } from '../layout.js';
import type { ResolvedPluginOptions } from '../plugin-options.js';
import { RunMarkers } from '../runs/run-markers.js';
import { isProcessLocal, openHostStore, readHostStorage } from './host-store.js';

/** Where the store in use lives: the s3db host database's, one the user gave, or the default. */
export type StoreSource = 'host' | 'given' | 'default';

/**
 * The scheduler's store and what is built on it (history, job documents, run markers), opened
 * on first use: which store (an explicit `store`, a `connectionString`, the host database's
 * bucket, the embedded default) and the refusal of a process-local store a host shares.
 */
export class SchedulerStore {
  #store: ObjectStore | undefined;
  #storeReady: Promise<ObjectStore> | undefined;
  #history: HistoryStore | undefined;
  #documents: JobDocuments | undefined;
  #markers: RunMarkers | undefined;
  #source: StoreSource | undefined;
  /** The process-local store was announced through the logger (once per plugin). */
  #toldProcessLocal = false;

  constructor(
    private readonly options: ResolvedPluginOptions,
    private readonly clock: Clock,
    /** Which store options the user gave, as opposed to defaults. */
    private readonly given: { connectionString: boolean },
    private readonly database: () => unknown,
    private readonly reportError: (operation: string, error: unknown, jobName?: string) => void,
    /** Wraps the opened store (request metrics, see observability/). */
    private readonly instrument: (store: ObjectStore) => Promise<ObjectStore> = async (store) => store,
  ) {}

  get source(): StoreSource | undefined {
    return this.#source;
  }

  /** Whether an open is under way (its store cannot be dropped). */
  get opening(): boolean {
    return this.#storeReady !== undefined;
  }

  /** History; only after `ensureHistory()` resolved. */
  get history(): HistoryStore {
    return this.#history!;
  }

  get historyIfOpen(): HistoryStore | undefined {
    return this.#history;
  }

  /** Job documents; only after `ensureHistory()` resolved. */
  get documents(): JobDocuments {
    return this.#documents!;
  }

  /** Run markers; only after `ensureHistory()` resolved. */
  get markers(): RunMarkers {
    return this.#markers!;
  }

  ensureStore(): Promise<ObjectStore> {
    if (this.#store) return Promise.resolve(this.#store);
    this.#storeReady ??= (async () => {
      const store = await this.instrument(await this.#openStore());
      this.#store = store;
      return store;
    })().finally(() => {
      this.#storeReady = undefined;
    });
    return this.#storeReady;
  }

  /** Drops the store and what was built on it, so the next use opens it again. */
  forget(): void {
    this.#store = undefined;
    this.#history = undefined;
    this.#documents = undefined;
    this.#markers = undefined;
    this.#source = undefined;
  }

  async ensureHistory(): Promise<HistoryStore> {
    if (this.#history) return this.#history;
    const store = await this.ensureStore();
    this.#documents ??= new JobDocuments(
      store,
      () => this.clock.now(),
      (error) => this.reportError('syncJob', error, error.metadata?.jobName as string | undefined),
      (error) => this.reportError('changes', error),
    );
    this.#markers ??= new RunMarkers(store);
    this.#history ??= new HistoryStore({
      store,
      clock: this.clock,
      prefix: schedulerLayout(this.options.keyPrefix, this.options.historyResource).history,
      onError: (error) => this.reportError('history', error),
    });
    return this.#history;
  }

  /**
   * Which store: an explicit `store`, then an explicit `connectionString`, then the host
   * database's own bucket (s3db.js: its key prefix plus `keyPrefix`), then the embedded default.
   */
  async #openStore(): Promise<ObjectStore> {
    const clock = this.clock;
    const host = readHostStorage(this.database(), this.options.keyPrefix);
    if (this.options.store) {
      this.#source = 'given';
      return openStore(this.options.store, { clock, prefix: this.options.keyPrefix });
    }
    if (this.given.connectionString) {
      this.#source = 'given';
      return connect(this.options.connectionString, { clock });
    }
    if (host && host.kind !== 'unsupported') {
      this.#source = 'host';
      return openHostStore(host, clock);
    }
    this.#source = 'default';
    return connect(this.options.connectionString, { clock });
  }

  /**
   * The memory store is process-local: in a host database whose storage other processes share,
   * each process would run every slot. That is refused; a plain single-process start on it is
   * announced once through the logger.
   */
  checkProcessLocal(store: ObjectStore): void {
    if (!isProcessLocal(store)) return;
    // Read again: the host may have been installed after the store was opened.
    const host = readHostStorage(this.database(), this.options.keyPrefix);
    if (host && host.kind !== 'memory') {
      throw new SchedulerError(
        `The scheduler would run on the process-local memory store (${store.description}) while its host database keeps its data in ${host.describe}: every process would run every slot`,
        {
          code: 'STORE_UNSAFE',
          operation: 'start',
          metadata: { store: store.description, host: host.describe },
          suggestion:
            host.kind === 's3'
              ? "Remove the memory 'store'/'connectionString' option so the scheduler uses the database's bucket, or pass connectionString: 's3://key:secret@bucket/prefix?endpoint=…'."
              : "This host backend cannot be shared by the scheduler: pass connectionString: 's3://key:secret@bucket/prefix?endpoint=…' (or a 'store') that every process reaches.",
        },
      );
    }
    if (this.#source !== 'given' || this.given.connectionString) {
      if (this.#toldProcessLocal) return;
      this.#toldProcessLocal = true;
      this.options.logger?.warn(
        `[s3-scheduler] running on the embedded store ${store.description}: it lives in this process only, so instances in other processes do not share its jobs' runs. For several processes, pass connectionString: 's3://…' or install the plugin into an s3db.js database on S3.`,
      );
    }
  }
}
