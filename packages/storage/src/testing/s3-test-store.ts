import { randomBytes } from 'node:crypto';
import { SchedulerError } from '@s3-scheduler/core';
import type { ObjectStore } from '../object-store.js';
import { PrefixedStore } from '../prefixed-store.js';
import { ResolvingStore, type ResolvingStoreOptions } from '../resolving-store.js';
import { S3Store } from '../s3/s3-store.js';

export interface S3TestStoreOptions {
  /** Appended to the fresh `test-<random>/` prefix. */
  prefix?: string;
  /** Options of the `ResolvingStore` around the backend (default back-off 20 ms). */
  resolving?: ResolvingStoreOptions;
}

/** The S3 test server's settings, read from the environment (`scripts/s3-server.sh env`). */
export interface S3TestEnv {
  endpoint: string;
  accessKeyId: string | undefined;
  secretAccessKey: string | undefined;
  region: string;
  bucket: string;
}

/**
 * The S3 server of the test environment, or `undefined` when there is none: `S3_ENDPOINT` unset
 * and not on CI. On CI (`CI=true`) a missing endpoint throws, so S3 suites fail instead of
 * skipping silently.
 */
export function s3TestEnv(): S3TestEnv | undefined {
  const endpoint = process.env.S3_ENDPOINT;
  if (!endpoint) {
    if (process.env.CI === 'true') {
      throw new SchedulerError('S3_ENDPOINT is not set, and on CI the S3 tests must run', {
        code: 'INVALID_OPTION',
        operation: 's3TestStore',
        metadata: { variable: 'S3_ENDPOINT' },
        suggestion:
          'Start the test server and export its settings: eval "$(bash scripts/s3-server.sh start)".',
      });
    }
    return undefined;
  }
  return {
    endpoint,
    accessKeyId: process.env.S3_ACCESS_KEY_ID || undefined,
    secretAccessKey: process.env.S3_SECRET_ACCESS_KEY || undefined,
    region: process.env.S3_REGION || 'us-east-1',
    bucket: process.env.S3_BUCKET || 's3-scheduler-test',
  };
}

const ensuredBuckets = new Map<string, Promise<void>>();

/**
 * The raw `S3Store` on the test server (no `ResolvingStore`, no prefix), its bucket created if
 * missing; `undefined` when there is no server (see `s3TestEnv`). `requestTimeoutMs`: the
 * enforced deadline of each request (default the store's, 10 s).
 */
export async function s3TestBackend(
  options: { requestTimeoutMs?: number } = {},
): Promise<S3Store | undefined> {
  const env = s3TestEnv();
  if (!env) return undefined;
  const store = new S3Store({
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
    bucket: env.bucket,
    endpoint: env.endpoint,
    region: env.region,
    forcePathStyle: true,
    ...(env.accessKeyId && env.secretAccessKey
      ? { credentials: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey } }
      : {}),
  });
  const id = `${env.endpoint} ${env.bucket}`;
  let ensured = ensuredBuckets.get(id);
  if (!ensured) {
    ensured = store.ensureBucket();
    ensuredBuckets.set(id, ensured);
    ensured.catch(() => ensuredBuckets.delete(id));
  }
  await ensured;
  return store;
}

/** A prefix no other test run uses: `test-<random>/`. */
export function uniqueTestPrefix(): string {
  return `test-${randomBytes(8).toString('hex')}/`;
}

/**
 * A store on the real S3 test server as the scheduler uses it: a `ResolvingStore` around the
 * `S3Store`, scoped under a fresh `test-<random>/` prefix (plus `options.prefix`), so tests never
 * see each other's keys. `undefined` when `S3_ENDPOINT` is unset outside CI; throws on CI.
 *
 * ```ts
 * const store = await s3TestStore({ prefix: 'lock/' });
 * describe.runIf(store)('lock on S3', () => { ... });
 * ```
 */
export async function s3TestStore(options: S3TestStoreOptions = {}): Promise<ObjectStore | undefined> {
  const backend = await s3TestBackend();
  if (!backend) return undefined;
  const resolving = new ResolvingStore(backend, { initialBackoffMs: 20, ...options.resolving });
  return new PrefixedStore(resolving, uniqueTestPrefix() + (options.prefix ?? ''));
}
