import { describe, expect, it } from 'vitest';
import { redactText, redactValue } from './redact.js';

describe('redaction', () => {
  it('removes passwords from URLs of any scheme but keeps the user', () => {
    expect(redactText('s3://AKIA:se%2Fcret@bucket/p')).toBe('s3://AKIA:***@bucket/p');
    expect(redactText('see https://user:pw@example.com/x and s3://k:s@b')).toBe(
      'see https://user:***@example.com/x and s3://k:***@b',
    );
    expect(redactText('memory://default/scheduler')).toBe('memory://default/scheduler');
  });

  it('removes request signatures', () => {
    expect(redactText('GET /x?X-Amz-Signature=abc123&a=1')).toBe('GET /x?X-Amz-Signature=***&a=1');
  });

  it('replaces secret-looking keys and leaves fencing tokens alone', () => {
    expect(
      redactValue({ secretAccessKey: 'x', password: 'y', token: 7, sessionToken: 'z', empty: '' }),
    ).toEqual({
      secretAccessKey: '***',
      password: '***',
      token: 7,
      sessionToken: '***',
      empty: '',
    });
  });
});

describe('redaction of hostile and encoded text', () => {
  it('masks a password in a percent-encoded URL, as inside an endpoint= parameter', () => {
    const once = `s3://b?endpoint=${encodeURIComponent('https://user:pa55word@host:9000')}`;
    expect(redactText(once)).not.toContain('pa55word');
    expect(redactText(once)).toContain('user');
    const twice = encodeURIComponent(once);
    expect(redactText(twice)).not.toContain('pa55word');
  });

  it('masks the values of secret-looking name=value pairs', () => {
    const text = 's3://bucket/p?region=eu&sessionToken=FQoGZXIvYXdzE%2Fabc==&x=1 password%3Dhunter2';
    const redacted = redactText(text);
    expect(redacted).not.toContain('FQoGZXIvYXdzE');
    expect(redacted).not.toContain('hunter2');
    expect(redacted).toContain('region=eu');
    expect(redacted).toContain('&x=1');
  });

  it('cuts long text before scanning it and never leaves part of a password at the cut', () => {
    const secret = 'S'.repeat(20_000);
    const text = `${'x'.repeat(8000)} https://user:${secret}@host`;
    const redacted = redactText(text);
    expect(redacted.length).toBeLessThan(8300);
    expect(redacted).not.toContain('SSSS');
    expect(redacted).toMatch(/more characters\)$/);
  });

  it('is linear in the input on the inputs that made the old patterns quadratic', () => {
    // Each of these took seconds to minutes at 40 KB with backtracking patterns; here 1 MB is
    // scanned whole (no cut) and must come back unchanged or redacted, not hang.
    const inputs = [
      'a'.repeat(1_000_000),
      'a://b:'.repeat(200_000),
      's3://'.repeat(200_000),
      '%3A%2F%2F'.repeat(100_000),
      'token='.repeat(150_000),
      `${'a'.repeat(999_000)}=`,
    ];
    for (const input of inputs) expect(typeof redactText(input, Number.POSITIVE_INFINITY)).toBe('string');
  });

  it('copies at most 100 entries and keeps __proto__ a plain key', () => {
    const big = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, i]));
    expect(Object.keys(redactValue(big) as object)).toHaveLength(101);
    const hostile = JSON.parse('{"__proto__": {"polluted": true}, "password": "p"}');
    const copy = redactValue(hostile) as Record<string, unknown>;
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(copy.password).toBe('***');
  });
});
