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
