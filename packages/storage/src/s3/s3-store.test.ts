import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { createNonce, isSchedulerError } from '@s3-scheduler/core';
import { afterAll, describe, expect, it } from 'vitest';
import { describeObjectStoreConformance } from '../conformance/object-store-conformance.js';
import { connect } from '../connect.js';
import { isOutcomeUnknown, isPreconditionFailed } from '../store-errors.js';
import { s3TestBackend, s3TestEnv, s3TestStore, uniqueTestPrefix } from '../testing/s3-test-store.js';
import { S3Store } from './s3-store.js';

// Throws on CI without S3_ENDPOINT, so the S3 suites fail there instead of being skipped.
const env = s3TestEnv();

/**
 * A valid bucket name that exists nowhere: lower-case hex after the label. (Eight characters of a
 * nonce are base64url: about one process in 32 drew one ending in '-' or '_', a name connect()
 * refuses as INVALID_CONNECTION_STRING before asking the server.)
 */
const missingBucket = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;

if (env) {
  // RGW before Ceph 20 ignores If-Match on DELETE (the scheduler never relies on it).
  describeObjectStoreConformance(
    'S3Store (real server, behind ResolvingStore)',
    async () => (await s3TestStore())!,
    {
      conditionalDelete: process.env.S3_CONDITIONAL_DELETE === 'true',
      timeoutMs: 300_000, // the safety net of vitest.shared.ts: no verdict from a slow machine
    },
  );
}

describe.runIf(env)('S3Store on the real server', () => {
  const backends: S3Store[] = [];
  const backend = async () => {
    const store = (await s3TestBackend())!;
    backends.push(store);
    return store;
  };
  afterAll(async () => {
    for (const store of backends) await store.close();
  });

  it('sends If-Match unquoted, so the ETag as S3 returns it (quoted) works on RGW too', async () => {
    const store = await backend();
    const key = `${uniqueTestPrefix()}quoted`;
    const { etag } = await store.put(key, 'v1');
    expect(etag).not.toContain('"');
    await expect(store.put(key, 'v2', { ifMatch: `"${etag}"` })).resolves.toHaveProperty('etag');
    await store.delete(key);
  });

  it('raw S3Store: concurrent CAS losers get PRECONDITION_FAILED or outcome unknown, never a second win', async () => {
    const store = await backend();
    const key = `${uniqueTestPrefix()}cas`;
    const { etag } = await store.put(key, 'start');
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => store.put(key, `w${i} ${createNonce()}`, { ifMatch: etag })),
    );
    const wins = results.filter((result) => result.status === 'fulfilled');
    expect(wins.length).toBeLessThanOrEqual(1);
    for (const result of results) {
      if (result.status === 'rejected') {
        expect(isPreconditionFailed(result.reason) || isOutcomeUnknown(result.reason)).toBe(true);
      }
    }
    await store.delete(key);
  });

  it('a missing bucket gives BUCKET_NOT_FOUND', async () => {
    const live = env!;
    const store = new S3Store({
      bucket: missingBucket('missing'),
      endpoint: live.endpoint,
      credentials: { accessKeyId: live.accessKeyId!, secretAccessKey: live.secretAccessKey! },
    });
    backends.push(store);
    const error = await store.put('k', 'x', { ifNoneMatch: '*' }).catch((e: unknown) => e);
    expect(isSchedulerError(error) && error.code).toBe('BUCKET_NOT_FOUND');
  });

  it('connect(): probes and scopes the store under the prefix', async () => {
    const live = env!;
    const prefix = uniqueTestPrefix();
    const url =
      `s3://${encodeURIComponent(live.accessKeyId!)}:${encodeURIComponent(live.secretAccessKey!)}@${live.bucket}/${prefix}` +
      `?endpoint=${encodeURIComponent(live.endpoint)}&region=${live.region}&forcePathStyle=true`;
    const store = await connect(url);
    expect(store.description).toBe(`s3://${live.bucket}/${prefix}`);
    expect(store.description).not.toContain(live.secretAccessKey!);
    await store.put('k', 'x', { ifNoneMatch: '*' });
    const raw = await backend();
    expect(await raw.head(`${prefix}k`)).not.toBeNull();
    // The probe cleaned up after itself.
    expect((await raw.list(prefix)).objects.map((object) => object.key)).toEqual([`${prefix}k`]);
    await raw.delete(`${prefix}k`);
  });

  it('connect(): a wrong secret gives ACCESS_DENIED and the secret appears nowhere', async () => {
    const live = env!;
    const secret = 'Wr0ng/Secret+Value=42';
    const url = `s3://${live.accessKeyId}:${encodeURIComponent(secret)}@${live.bucket}/x?endpoint=${encodeURIComponent(live.endpoint)}`;
    const error = await connect(url).catch((e: unknown) => e);
    expect(isSchedulerError(error) && error.code).toBe('ACCESS_DENIED');
    const e = error as Error & { toJSON(): unknown };
    for (const text of [
      JSON.stringify(e),
      e.message,
      e.stack ?? '',
      String(e),
      JSON.stringify(e.toJSON()),
      inspect(e),
    ]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(encodeURIComponent(secret));
    }
  });

  it('connect(): a missing bucket gives BUCKET_NOT_FOUND naming it', async () => {
    const live = env!;
    const bucket = missingBucket('nope');
    const url = `s3://${live.accessKeyId}:${live.secretAccessKey}@${bucket}/x?endpoint=${encodeURIComponent(live.endpoint)}`;
    const error = await connect(url).catch((e: unknown) => e);
    expect(isSchedulerError(error) && error.code).toBe('BUCKET_NOT_FOUND');
    expect(isSchedulerError(error) && error.metadata.bucket).toBe(bucket);
  });
});

describe('S3Store without a server', () => {
  it('an unreachable endpoint gives STORE_UNAVAILABLE', async () => {
    const store = new S3Store({
      bucket: 'b-b-b',
      endpoint: 'http://127.0.0.1:9',
      credentials: { accessKeyId: 'a', secretAccessKey: 'very-secret-value' },
      maxAttempts: 1,
    });
    const error = await store.get('k').catch((e: unknown) => e);
    expect(isSchedulerError(error) && error.code).toBe('STORE_UNAVAILABLE');
    expect(JSON.stringify(error)).not.toContain('very-secret-value');
    expect(store.description).toBe('s3://b-b-b');
    expect(JSON.stringify(store)).not.toContain('very-secret-value');
    await store.close();
  });

  it('refuses an over-long key before sending anything', async () => {
    const store = new S3Store({ bucket: 'b-b-b', endpoint: 'http://127.0.0.1:9' });
    const error = await store.put('x'.repeat(1025), 'x').catch((e: unknown) => e);
    expect(isSchedulerError(error) && error.code).toBe('INVALID_KEY');
  });
});
