import { inspect } from 'node:util';
import { isSchedulerError, type SchedulerError } from '@s3-scheduler/core';
import { describe, expect, it } from 'vitest';
import { connect } from './connect.js';
import { DEFAULT_PREFIX, parseConnectionString, redactConnectionString } from './connection-string.js';
import { MemoryStore } from './memory/memory-store.js';

function parseError(value: string): SchedulerError {
  try {
    parseConnectionString(value);
  } catch (error) {
    if (isSchedulerError(error)) return error;
    throw error;
  }
  throw new Error(`expected '${value}' to be rejected`);
}

/** Every way an error can reach a log must be free of the secret, raw or URL-encoded. */
function expectNoSecret(error: unknown, secret: string): void {
  const e = error as SchedulerError;
  const texts = [
    JSON.stringify(e),
    JSON.stringify(e.toJSON()),
    e.message,
    e.stack ?? '',
    String(e),
    inspect(e),
  ];
  for (const text of texts) {
    expect(text).not.toContain(secret);
    expect(text).not.toContain(encodeURIComponent(secret));
  }
}

describe('parseConnectionString', () => {
  it('reads memory://bucket/prefix', () => {
    expect(parseConnectionString('memory://default/scheduler')).toEqual({
      scheme: 'memory',
      bucket: 'default',
      prefix: 'scheduler/',
      redacted: 'memory://default/scheduler',
    });
    expect(parseConnectionString('memory://shared/teams/billing/').prefix).toBe('teams/billing/');
  });

  it(`defaults the prefix to '${DEFAULT_PREFIX}'`, () => {
    expect(parseConnectionString('memory://default').prefix).toBe('scheduler/');
    expect(parseConnectionString('memory://default/').prefix).toBe('scheduler/');
    expect(parseConnectionString('s3://my-bucket').prefix).toBe('scheduler/');
  });

  it('reads s3:// with URL-decoded credentials and every parameter', () => {
    const settings = parseConnectionString(
      's3://AKIA%2Fkey:se%2Fcr%2Bet%3D%40x@my-bucket/jobs/prod?region=eu-west-1&endpoint=http%3A%2F%2F127.0.0.1%3A7480&forcePathStyle=true',
    );
    expect(settings).toMatchObject({
      scheme: 's3',
      bucket: 'my-bucket',
      prefix: 'jobs/prod/',
      region: 'eu-west-1',
      endpoint: 'http://127.0.0.1:7480',
      forcePathStyle: true,
    });
    expect(settings.scheme === 's3' && settings.credentials).toEqual({
      accessKeyId: 'AKIA/key',
      secretAccessKey: 'se/cr+et=@x',
    });
  });

  it('accepts an unencoded / and + in the secret (common in AWS secrets)', () => {
    const settings = parseConnectionString('s3://AKIAX:wJalr/K7MDENG+bPxRfi@bucket-1/p');
    expect(settings.scheme === 's3' && settings.credentials?.secretAccessKey).toBe('wJalr/K7MDENG+bPxRfi');
    expect(settings.bucket).toBe('bucket-1');
    expect(settings.prefix).toBe('p/');
  });

  it('leaves credentials to the AWS default chain when the URL has none', () => {
    const settings = parseConnectionString('s3://my-bucket/p?region=us-east-2');
    expect(settings.scheme === 's3' && settings.credentials).toBeUndefined();
  });

  it('never shows the secret in JSON, inspect or the redacted form of the settings', () => {
    const secret = 'Sup3r/Secret+Key';
    const settings = parseConnectionString(`s3://AK:${encodeURIComponent(secret)}@bucket/p`);
    for (const text of [JSON.stringify(settings), inspect(settings), settings.redacted]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(encodeURIComponent(secret));
    }
    expect(settings.redacted).toBe('s3://AK:***@bucket/p');
  });

  it.each([
    ['', 'not a URL'],
    ['default/scheduler', 'not a URL'],
    ['redis://localhost/0', "unknown scheme 'redis'"],
    ['memory:///scheduler', 'bucket name is missing'],
    ['memory://a:b@default/x', 'takes no credentials'],
    ['memory://default/x?region=eu', 'takes no query parameters'],
    ['s3:///prefix', 'bucket name is missing'],
    ['s3://AK:SECRET@/prefix', 'bucket name is missing'],
    ['s3://Bad_Bucket!/p', 'not a valid bucket name'],
    ['s3://bucket/p?regoin=eu-west-1', "unknown parameter 'regoin'"],
    ['s3://bucket/p?forcePathStyle=yes', 'forcePathStyle must be true or false'],
    ['s3://bucket/p?endpoint=localhost:7480', 'must be http:// or https://'],
    ['s3://bucket/p?endpoint=not a url', 'is not a URL'],
    ['s3://bucket/a/../b', "'..' segment"],
    ['s3://:secret@bucket/p', 'both non-empty'],
    ['s3://AK:%E0%A4%A@bucket/p', 'not valid URL encoding'],
  ])('rejects %j (%s) with INVALID_CONNECTION_STRING and a suggestion', (value, problem) => {
    const error = parseError(value);
    expect(error.code).toBe('INVALID_CONNECTION_STRING');
    expect(error.message).toContain(problem);
    expect(error.suggestion).toBeTruthy();
    expect(error.metadata.connectionString).toBeDefined();
  });

  it.each([
    ['an unknown parameter', 's3://AK:%s@bucket/p?bogus=1'],
    ['a bad bucket', 's3://AK:%s@Bad_Bucket!/p'],
    ['a missing @', 's3://AK:%s/bucket/p'],
    ['bad URL encoding in the secret', 's3://AK:%s%ZZ@bucket/p'],
    ['an unknown scheme', 'ftp://AK:%s@bucket/p'],
    ['a bad endpoint', 's3://AK:%s@bucket/p?endpoint=nope'],
  ])('keeps the secret out of the error for %s', (_title, template) => {
    const secret = 'hunter2-Secret/Value';
    const error = parseError(template.replace('%s', secret));
    expect(error.code).toBe('INVALID_CONNECTION_STRING');
    expectNoSecret(error, secret);
    expect(error.message).toContain('***');
  });

  it.each([
    ['a session token parameter', 's3://bucket/p?region=eu-west-1&sessionToken=%s'],
    ['a secret parameter with an unknown name', 's3://AK:x@bucket/p?secretAccessKey=%s'],
    [
      'credentials in a URL-encoded endpoint',
      `s3://bucket/p?endpoint=${encodeURIComponent('https://user:%s@host:9000')}`,
    ],
    ['credentials in a raw endpoint', 's3://bucket/p?endpoint=https://user:%s@host:9000'],
    ['credentials in an endpoint that is not a URL', 's3://bucket/p?endpoint=user:%s@host'],
  ])('keeps %s out of message, metadata, toJSON, stack and inspect', (_title, template) => {
    const secret = 'T0ken-Value-Zq9';
    const error = parseError(template.replace('%s', secret));
    expect(error.code).toBe('INVALID_CONNECTION_STRING');
    expectNoSecret(error, secret);
    expect(JSON.stringify(error.metadata)).not.toContain(secret);
    expect(inspect(error.metadata)).not.toContain(secret);
  });

  it('accepts a sessionToken with key and secret (temporary credentials), and never shows it', () => {
    const token = 'FwoGZXIvYXdzE/Session+Token==';
    const settings = parseConnectionString(
      `s3://AKIATEMP:${encodeURIComponent('se/cret')}@bucket/p?region=eu-west-1&sessionToken=${encodeURIComponent(token)}`,
    );
    expect(settings.scheme === 's3' && settings.credentials).toEqual({
      accessKeyId: 'AKIATEMP',
      secretAccessKey: 'se/cret',
      sessionToken: token,
    });
    expect(settings.redacted).toBe('s3://AKIATEMP:***@bucket/p?region=eu-west-1&sessionToken=***');
    for (const text of [JSON.stringify(settings), inspect(settings), settings.redacted]) {
      expect(text).not.toContain(token);
      expect(text).not.toContain(encodeURIComponent(token));
    }
  });

  it.each([
    ['without key and secret', 's3://bucket/p?sessionToken=%s', 'needs the access key and secret'],
    ['empty', 's3://AK:x@bucket/p?sessionToken=', 'sessionToken is empty'],
    ['next to a bad region', 's3://AK:x@bucket/p?sessionToken=%s&region=e%20u', 'not a region name'],
  ])('refuses a sessionToken %s, without echoing it', (_title, template, problem) => {
    const token = 'Tok3n-Never-Shown';
    const error = parseError(template.replace('%s', token));
    expect(error.code).toBe('INVALID_CONNECTION_STRING');
    expect(error.message).toContain(problem);
    expectNoSecret(error, token);
  });

  it('refuses a 1 MB connection string at once, showing only its start', () => {
    const error = parseError(`s3://bucket/${'p'.repeat(1_000_000)}`);
    expect(error.message.length).toBeLessThan(1000);
    expect(error.message).toContain('more characters');
  });

  it('redacts malformed strings too', () => {
    expect(redactConnectionString('s3://AK:abc/def@bucket/p')).toBe('s3://AK:***@bucket/p');
    expect(redactConnectionString('s3://AK:secret/bucket')).toBe('s3://AK:***/bucket');
    expect(redactConnectionString('memory://default/x')).toBe('memory://default/x');
    expect(redactConnectionString('AK:secret@bucket')).not.toContain('secret');
  });
});

describe('connect', () => {
  it('opens memory:// on the shared named bucket, under the prefix, after probing it', async () => {
    MemoryStore.resetBucket('connect-test');
    const a = await connect('memory://connect-test/jobs');
    const b = await connect('memory://connect-test/jobs');
    expect(a.description).toBe('memory://connect-test/jobs/');
    await a.put('k', 'x', { ifNoneMatch: '*' });
    expect(await b.get('k')).not.toBeNull();
    const raw = new MemoryStore({ bucket: 'connect-test' });
    // The probe left nothing behind.
    expect((await raw.list('')).objects.map((object) => object.key)).toEqual(['jobs/k']);
    MemoryStore.resetBucket('connect-test');
  });

  it('defaults to memory://default/scheduler', async () => {
    const store = await connect();
    expect(store.description).toBe('memory://default/scheduler/');
  });

  it('rejects a bad string before touching any store', async () => {
    await expect(connect('nope://x')).rejects.toMatchObject({ code: 'INVALID_CONNECTION_STRING' });
  });

  it('an s3:// store that cannot be reached gives STORE_UNAVAILABLE without the secret', async () => {
    const secret = 'conn3ct-Secret/Value';
    const error = await connect(
      `s3://AK:${encodeURIComponent(secret)}@bucket/p?endpoint=http://127.0.0.1:9`,
      {
        maxAttempts: 1,
      },
    ).catch((e: unknown) => e);
    expect(isSchedulerError(error) && error.code).toBe('STORE_UNAVAILABLE');
    expectNoSecret(error, secret);
  });
});
