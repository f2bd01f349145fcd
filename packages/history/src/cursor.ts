import { invalidOption } from '@s3-scheduler/core';

/** Cursors are opaque to callers: the last key a page examined, base64url-encoded. */
export function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

/** The key a cursor stands for; it must lie under one of the partitions being queried. */
export function decodeCursor(cursor: string, prefixes: readonly string[]): string {
  const key =
    typeof cursor === 'string' && cursor.length <= 8192
      ? Buffer.from(cursor, 'base64url').toString('utf8')
      : '';
  if (!prefixes.some((prefix) => key.startsWith(prefix) && key.length > prefix.length)) {
    throw invalidOption(
      { operation: 'query', option: 'cursor' },
      cursor,
      'the cursor of the previous page of this query',
      'Pass the cursor returned by the previous page of the same job and status, unchanged.',
    );
  }
  return key;
}
