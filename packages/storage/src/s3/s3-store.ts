import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { abortReason } from '@s3-scheduler/core';
import { unquoteEtag } from '../etag.js';
import { keyByteLength, MAX_KEY_BYTES } from '../key-order.js';
import type {
  DeleteOptions,
  ListOptions,
  ListPage,
  ObjectInfo,
  ObjectStore,
  PutOptions,
  ReadOptions,
  StoredObject,
} from '../object-store.js';
import { invalidKey, storeUnavailable } from '../store-errors.js';
import { loadSdk, type Sdk } from './load-sdk.js';
import { mapS3Error, type S3ErrorContext } from './s3-errors.js';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3StoreOptions {
  bucket: string;
  /** Default `us-east-1`; RGW and MinIO accept any region. */
  region?: string;
  /** For S3-compatible servers, such as `http://127.0.0.1:7480`. Default: AWS. */
  endpoint?: string;
  /** Path-style URLs (`endpoint/bucket/key`). Default: true when `endpoint` is set. */
  forcePathStyle?: boolean;
  /** Static credentials. Default: the AWS SDK's default credential chain. */
  credentials?: S3Credentials;
  /**
   * Deadline of each request in ms, the SDK's own attempts and the reading of the answer included.
   * Enforced: past it the request is aborted (its socket closed) and fails `STORE_UNAVAILABLE`
   * (retriable; a write's outcome is then unknown and `ResolvingStore` settles it by re-reading).
   * A server that accepts connections and never answers, or one frozen mid-answer, thus fails
   * every request within this time. Default 10,000.
   */
  requestTimeoutMs?: number;
  /**
   * SDK attempts for reads and unconditional writes. Default 3. Conditional writes always make
   * exactly one attempt: an SDK retry can turn a won write into a 412, so `ResolvingStore`
   * settles them instead.
   */
  maxAttempts?: number;
  /**
   * Extra settings of the SDK's `S3Client` (its `S3ClientConfig`), merged last (advanced). Typed
   * loosely so that these declarations compile for users who do not install the optional SDK.
   */
  clientConfig?: Readonly<Record<string, unknown>>;
}

interface Clients {
  sdk: Sdk;
  /** Reads and unconditional writes, with the SDK's retries. */
  client: S3Client;
  /** Conditional writes: one attempt, so a 412 is the answer to this request. */
  conditional: S3Client;
}

/**
 * The storage contract on Amazon S3 and S3-compatible servers (Ceph RGW, MinIO, R2), through
 * `@aws-sdk/client-s3` v3, an optional peer dependency: it is imported on first use, so users of the
 * memory store neither install nor load it, and without it the first request fails
 * `MISSING_DEPENDENCY` (install `@aws-sdk/client-s3`). Errors come out as `SchedulerError`s (see
 * `mapS3Error`); wrap the store in a `ResolvingStore` (as `connect()` does) to settle writes whose
 * outcome is unknown.
 */
export class S3Store implements ObjectStore {
  readonly description: string;
  readonly bucket: string;
  readonly endpoint: string | undefined;
  readonly region: string;
  /** The enforced deadline of each request, in ms. */
  readonly requestTimeoutMs: number;
  #clients: Promise<Clients> | undefined;
  // Private, so credentials never show in JSON.stringify, util.inspect or a log of the store.
  readonly #options: S3StoreOptions;

  constructor(options: S3StoreOptions) {
    this.#options = { ...options };
    this.bucket = options.bucket;
    this.endpoint = options.endpoint;
    this.region = options.region ?? 'us-east-1';
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.description = `s3://${options.bucket}`;
  }

  /**
   * The SDK's `S3Client` (loads the SDK on first call), for operations this interface lacks:
   * `await store.client<S3Client>()` with `S3Client` from `@aws-sdk/client-s3` (the type is a
   * parameter so that these declarations compile without the optional SDK installed).
   */
  async client<Client = unknown>(): Promise<Client> {
    return (await this.#load()).client as Client;
  }

  async get(key: string, options: ReadOptions = {}): Promise<StoredObject | null> {
    checkKey(key);
    return this.#withDeadline('get', key, options.signal, async (abortSignal) => {
      const { sdk, client } = await this.#load();
      const context = this.#context('get', key);
      try {
        const response = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: key }), {
          abortSignal,
        });
        const body = response.Body ? await response.Body.transformToByteArray() : new Uint8Array();
        return {
          body,
          etag: unquoteEtag(response.ETag ?? ''),
          lastModified: response.LastModified ?? new Date(0),
        };
      } catch (error) {
        if (isNotFoundKey(error)) return null;
        throw this.#error(error, context, options.signal);
      }
    });
  }

  async head(key: string, options: ReadOptions = {}): Promise<ObjectInfo | null> {
    checkKey(key);
    return this.#withDeadline('head', key, options.signal, (abortSignal) => this.#head(key, abortSignal));
  }

  async #head(key: string, abortSignal: AbortSignal): Promise<ObjectInfo | null> {
    const { sdk, client } = await this.#load();
    try {
      const response = await client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: key }), {
        abortSignal,
      });
      return {
        key,
        etag: unquoteEtag(response.ETag ?? ''),
        size: response.ContentLength ?? 0,
        lastModified: response.LastModified ?? new Date(0),
      };
    } catch (error) {
      // HEAD errors carry no body: a 404 cannot tell a missing key from a missing bucket.
      if (isNotFoundKey(error)) return null;
      throw this.#error(error, this.#context('head', key), abortSignal);
    }
  }

  async put(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<{ etag: string }> {
    checkKey(key);
    return this.#withDeadline('put', key, options.signal, (abortSignal) =>
      this.#put(key, body, options, abortSignal),
    );
  }

  async #put(
    key: string,
    body: Uint8Array | string,
    options: PutOptions,
    abortSignal: AbortSignal,
  ): Promise<{ etag: string }> {
    const { sdk, client, conditional } = await this.#load();
    const isConditional = options.ifMatch !== undefined || options.ifNoneMatch !== undefined;
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
    const context = this.#context('put', key, options);
    try {
      const response = await (isConditional ? conditional : client).send(
        new sdk.PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: bytes,
          ContentLength: bytes.byteLength,
          ...(options.contentType === undefined ? {} : { ContentType: options.contentType }),
          ...(options.ifNoneMatch === undefined ? {} : { IfNoneMatch: options.ifNoneMatch }),
          // RGW before Ceph 20 only matches the unquoted form; AWS accepts both.
          ...(options.ifMatch === undefined ? {} : { IfMatch: unquoteEtag(options.ifMatch) }),
        }),
        { abortSignal },
      );
      if (response.ETag) return { etag: unquoteEtag(response.ETag) };
    } catch (error) {
      throw this.#error(error, context, options.signal);
    }
    // No ETag in the answer (some proxies strip it): read it back, within the same deadline.
    const info = await this.#head(key, abortSignal);
    return { etag: info?.etag ?? '' };
  }

  async delete(key: string, options: DeleteOptions = {}): Promise<void> {
    checkKey(key);
    return this.#withDeadline('delete', key, options.signal, (abortSignal) =>
      this.#delete(key, options, abortSignal),
    );
  }

  async #delete(key: string, options: DeleteOptions, abortSignal: AbortSignal): Promise<void> {
    const { sdk, client, conditional } = await this.#load();
    const context = this.#context('delete', key, options);
    try {
      await (options.ifMatch === undefined ? client : conditional).send(
        new sdk.DeleteObjectCommand({
          Bucket: this.bucket,
          Key: key,
          ...(options.ifMatch === undefined ? {} : { IfMatch: unquoteEtag(options.ifMatch) }),
        }),
        { abortSignal },
      );
    } catch (error) {
      // A conditional delete of a missing key answers 404 on AWS; deleting nothing succeeds.
      if (isNotFoundKey(error)) return;
      throw this.#error(error, context, options.signal);
    }
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    return this.#withDeadline('list', prefix, options.signal, (abortSignal) =>
      this.#list(prefix, options, abortSignal),
    );
  }

  async #list(prefix: string, options: ListOptions, abortSignal: AbortSignal): Promise<ListPage> {
    const { sdk, client } = await this.#load();
    const limit = Math.max(1, Math.min(Math.floor(options.limit ?? 1000), 1000));
    const context = this.#context('list', prefix);
    const objects: ObjectInfo[] = [];
    const commonPrefixes: string[] = [];
    let continuationToken: string | undefined;
    try {
      // A server may answer a truncated page with nothing in it; follow its token until
      // something arrives or the listing ends.
      for (;;) {
        const response = await client.send(
          new sdk.ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            MaxKeys: limit,
            ...(options.delimiter ? { Delimiter: options.delimiter } : {}),
            ...(continuationToken === undefined
              ? options.startAfter === undefined
                ? {}
                : { StartAfter: options.startAfter }
              : { ContinuationToken: continuationToken }),
          }),
          { abortSignal },
        );
        for (const item of response.Contents ?? []) {
          if (item.Key === undefined) continue;
          objects.push({
            key: item.Key,
            etag: unquoteEtag(item.ETag ?? ''),
            size: item.Size ?? 0,
            lastModified: item.LastModified ?? new Date(0),
          });
        }
        for (const group of response.CommonPrefixes ?? [])
          if (group.Prefix) commonPrefixes.push(group.Prefix);
        const truncated = response.IsTruncated === true && response.NextContinuationToken !== undefined;
        if (!truncated) return { objects, commonPrefixes };
        if (objects.length + commonPrefixes.length > 0) {
          return { objects, commonPrefixes, nextStartAfter: nextStartAfter(objects, commonPrefixes) };
        }
        continuationToken = response.NextContinuationToken;
      }
    } catch (error) {
      throw this.#error(error, context, options.signal);
    }
  }

  /** Creates the bucket unless it exists already (for tests and first-time set-up). */
  async ensureBucket(): Promise<void> {
    const { sdk, client } = await this.#load();
    const context = this.#context('createBucket', '');
    try {
      await client.send(new sdk.HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status !== 404) throw this.#error(error, context);
    }
    try {
      await client.send(new sdk.CreateBucketCommand({ Bucket: this.bucket }));
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === 'BucketAlreadyOwnedByYou' || name === 'BucketAlreadyExists') return;
      throw this.#error(error, context);
    }
  }

  /** Closes the SDK's sockets. The store must not be used afterwards. */
  async close(): Promise<void> {
    if (!this.#clients) return;
    const { client, conditional } = await this.#clients;
    client.destroy();
    conditional.destroy();
  }

  /**
   * Runs one request under the deadline: past `requestTimeoutMs` its signal aborts (the SDK closes
   * the socket) and the call rejects `STORE_UNAVAILABLE` at once, even if the SDK does not return.
   * The caller's own `signal` still wins with its own reason.
   */
  #withDeadline<T>(
    operation: string,
    key: string,
    signal: AbortSignal | undefined,
    request: (abortSignal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const controller = new AbortController();
    const timeoutMs = this.requestTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        finish();
        controller.abort(abortReason(signal!));
        reject(abortReason(signal!));
      };
      const timer = setTimeout(() => {
        finish();
        const error = storeUnavailable(operation, key, {
          reason: `no answer within requestTimeoutMs (${timeoutMs} ms)`,
        });
        controller.abort(error);
        reject(error);
      }, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      request(controller.signal).then(
        (value) => {
          finish();
          resolve(value);
        },
        (error: unknown) => {
          finish();
          reject(error);
        },
      );
    });
  }

  #load(): Promise<Clients> {
    this.#clients ??= this.#createClients();
    return this.#clients;
  }

  async #createClients(): Promise<Clients> {
    const sdk = await loadSdk();
    const options = this.#options;
    const base: S3ClientConfig = {
      region: this.region,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
      ...(options.credentials === undefined ? {} : { credentials: { ...options.credentials } }),
      requestHandler: {
        requestTimeout: this.requestTimeoutMs,
        connectionTimeout: Math.min(5_000, this.requestTimeoutMs),
      },
      // Default CRC32 checksums are not understood by every S3-compatible server.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...options.clientConfig,
    };
    return {
      sdk,
      client: new sdk.S3Client({ maxAttempts: options.maxAttempts ?? 3, ...base }),
      conditional: new sdk.S3Client({ ...base, maxAttempts: 1 }),
    };
  }

  #context(operation: string, key: string, condition: PutOptions | DeleteOptions = {}): S3ErrorContext {
    return {
      operation,
      key,
      bucket: this.bucket,
      ...(this.endpoint === undefined ? {} : { endpoint: this.endpoint }),
      conditional:
        condition.ifMatch !== undefined ||
        ('ifNoneMatch' in condition && condition.ifNoneMatch !== undefined),
      ...(condition.ifMatch === undefined ? {} : { ifMatch: unquoteEtag(condition.ifMatch) }),
    };
  }

  #error(error: unknown, context: S3ErrorContext, signal?: AbortSignal): unknown {
    if (signal?.aborted) return abortReason(signal);
    return mapS3Error(error, context);
  }
}

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** Where the next page starts: after the last key or group of this one, whichever is later. */
function nextStartAfter(objects: ObjectInfo[], commonPrefixes: string[]): string {
  const lastKey = objects.at(-1)?.key;
  const lastGroup = commonPrefixes.at(-1);
  // A group stands for every key that starts with it: start after the greatest such key.
  const afterGroup = lastGroup === undefined ? undefined : `${lastGroup}\u{10FFFF}`;
  if (lastKey === undefined) return afterGroup!;
  if (afterGroup === undefined) return lastKey;
  return Buffer.compare(Buffer.from(lastKey), Buffer.from(afterGroup)) > 0 ? lastKey : afterGroup;
}

function isNotFoundKey(error: unknown): boolean {
  const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (name === 'NoSuchBucket') return false;
  return name === 'NoSuchKey' || name === 'NotFound' || $metadata?.httpStatusCode === 404;
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw invalidKey(key, 'empty or not a string');
  if (keyByteLength(key) > MAX_KEY_BYTES)
    throw invalidKey(key, `longer than ${MAX_KEY_BYTES} bytes of UTF-8`);
}
