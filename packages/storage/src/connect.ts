import { abortReason, type Clock, SchedulerError, systemClock } from '@s3-scheduler/core';
import {
  type ConnectionSettings,
  DEFAULT_CONNECTION_STRING,
  parseConnectionString,
} from './connection-string.js';
import { MemoryStore } from './memory/memory-store.js';
import type { ObjectStore } from './object-store.js';
import { PrefixedStore } from './prefixed-store.js';
import { probeStore } from './probe.js';
import { ResolvingStore } from './resolving-store.js';
import type { S3Credentials } from './s3/s3-store.js';
import { storeUnavailable } from './store-errors.js';

export interface OpenStoreOptions {
  /**
   * Skip the capability probe (see `probeStore`). Only for stores known to honour conditional
   * writes, or when exactly-once does not matter: on a store that ignores conditions two
   * instances can both run a slot. Default false.
   */
  unsafeSkipProbe?: boolean;
  /** Time source of retries and back-off. Default the system clock. */
  clock?: Clock;
  /** Attempts per operation when the store is unavailable. Default 6. */
  maxAttempts?: number;
  /** First back-off between attempts, doubled up to 2 s. Default 50 ms. */
  initialBackoffMs?: number;
  /**
   * Deadline in ms of the whole opening (the probe's requests and their retries): past it the
   * opening rejects `STORE_UNAVAILABLE`, so a silent endpoint (one that accepts connections and
   * never answers) fails `connect()`, and the plugin's `start()`, within this time. Default 30,000.
   */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface ConnectOptions extends OpenStoreOptions {
  /** S3: enforced deadline of each request in ms (see `S3StoreOptions`). Default 10,000. */
  requestTimeoutMs?: number;
  /** S3: credentials to use instead of those in the URL or the default chain. */
  credentials?: S3Credentials;
}

/**
 * Opens the store a connection string names and proves it safe: parses the string (throwing
 * `INVALID_CONNECTION_STRING` with the secret redacted), builds the backend (the AWS SDK is
 * loaded only for `s3://`), wraps it in a `ResolvingStore` that settles unknown write outcomes,
 * scopes it to the prefix and runs the capability probe (`STORE_UNSAFE` if conditions are
 * ignored; `BUCKET_NOT_FOUND`, `ACCESS_DENIED` or `STORE_UNAVAILABLE` from the first request).
 *
 * ```ts
 * const store = await connect('s3://AKIA…:secret@my-bucket/scheduler?region=eu-west-1');
 * ```
 */
export async function connect(
  connectionString: string = DEFAULT_CONNECTION_STRING,
  options: ConnectOptions = {},
): Promise<ObjectStore> {
  const settings = parseConnectionString(connectionString);
  const backend = await createBackend(settings, options);
  return openStore(backend, { ...options, prefix: settings.prefix });
}

/**
 * What `connect()` does after building the backend, for custom backends: wraps `backend` in a
 * `ResolvingStore`, scopes it to `prefix` (default none) and runs the capability probe, unless
 * `unsafeSkipProbe` is set (then one LIST still checks the bucket and credentials).
 */
export async function openStore(
  backend: ObjectStore,
  options: OpenStoreOptions & { prefix?: string } = {},
): Promise<ObjectStore> {
  const resolving = new ResolvingStore(backend, {
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
    ...(options.initialBackoffMs === undefined ? {} : { initialBackoffMs: options.initialBackoffMs }),
  });
  const store = options.prefix ? new PrefixedStore(resolving, options.prefix) : resolving;
  const timeoutMs = options.timeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) {
    throw new SchedulerError(`Invalid option 'timeoutMs': ${String(timeoutMs)}`, {
      code: 'INVALID_OPTION',
      operation: 'openStore',
      metadata: { option: 'timeoutMs', value: timeoutMs },
      suggestion: 'Pass timeoutMs as a positive number of milliseconds, for example 30000.',
    });
  }
  const clock = options.clock ?? systemClock;
  const deadline = new AbortController();
  const timer = new AbortController();
  clock.sleep(timeoutMs, timer.signal).then(
    () =>
      deadline.abort(
        storeUnavailable('open', store.description, {
          reason: `the store did not answer within timeoutMs (${timeoutMs} ms)`,
          suggestion:
            'Check that the endpoint is the S3 server (host, port, http/https) and that it is reachable and not frozen; raise timeoutMs only for a store known to be slow.',
        }),
      ),
    () => undefined,
  );
  const signal = options.signal ? AbortSignal.any([options.signal, deadline.signal]) : deadline.signal;
  try {
    if (options.unsafeSkipProbe) {
      // Still one request, so a missing bucket or wrong credentials fail here and not later.
      await raceAbort(store.list('', { limit: 1, signal }), signal);
    } else {
      await raceAbort(probeStore(store, { signal }), signal);
    }
  } finally {
    timer.abort();
  }
  return store;
}

const DEFAULT_OPEN_TIMEOUT_MS = 30_000;

/** Settles as `promise` does, or rejects with the signal's reason once it aborts (whichever first). */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

async function createBackend(settings: ConnectionSettings, options: ConnectOptions): Promise<ObjectStore> {
  if (settings.scheme === 'memory') {
    return new MemoryStore({
      bucket: settings.bucket,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    });
  }
  // Loaded on demand: the module and the AWS SDK cost start-up time memory users should not pay.
  const { S3Store } = await import('./s3/s3-store.js');
  const credentials = options.credentials ?? settings.credentials;
  return new S3Store({
    bucket: settings.bucket,
    ...(settings.region === undefined ? {} : { region: settings.region }),
    ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
    ...(settings.forcePathStyle === undefined ? {} : { forcePathStyle: settings.forcePathStyle }),
    ...(credentials === undefined ? {} : { credentials }),
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
  });
}
