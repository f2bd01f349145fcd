import { SchedulerError } from '@s3-scheduler/core';

/** The one JSON object stored per lock. Wall-clock fields are informational only. */
export interface LockRecord {
  /** Who holds (or last held) the lease. */
  owner: string;
  /** Fencing token: +1 on every change of holder, never reset (the object is never deleted). */
  token: number;
  /** Unique per write, so every write has new bytes and a new ETag, and a lost response can be settled. */
  nonce: string;
  /** The holder's lease, which observers use to judge expiry on their own monotonic clocks. */
  leaseMs: number;
  state: 'held' | 'released';
  /** Holder's wall clock at acquisition (ms since epoch); never compared across instances. */
  acquiredAt: number;
  /** Holder's wall clock at the last write. */
  renewedAt: number;
  /**
   * How often the holder renews (ms), so an observer can time its reads just after a renewal.
   * Informational: expiry is judged from `leaseMs` alone. Absent in records of older versions.
   */
  renewMs?: number;
  /**
   * Set while the holder hands the lease over (a graceful stop): the owner this holder asks to take
   * over at once, without waiting out the lease. The holder keeps the lease valid meanwhile.
   */
  successor?: string;
  /**
   * What the holder publishes to everyone who reads the lock (set with `LockHandle.setData`, sent
   * with the next write): a small JSON object, for example who should watch the lease.
   */
  data?: Record<string, unknown>;
}

export function encodeLockRecord(record: LockRecord): string {
  const { owner, token, nonce, leaseMs, state, acquiredAt, renewedAt, renewMs, successor, data } = record;
  return JSON.stringify({
    owner,
    token,
    nonce,
    leaseMs,
    state,
    acquiredAt,
    renewedAt,
    renewMs,
    successor,
    data,
  });
}

/**
 * Parses a stored lock; anything else is `STORE_CORRUPTED`. Clients treat such an object as held
 * by nobody known for their `maxLeaseMs`, then take it over (never deleting it).
 */
export function decodeLockRecord(body: Uint8Array, key: string): LockRecord {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(body));
  } catch (cause) {
    throw corrupted(key, 'not JSON', cause);
  }
  if (typeof value !== 'object' || value === null) throw corrupted(key, 'not an object');
  const record = value as Record<string, unknown>;
  const okNumber = (field: string) => typeof record[field] === 'number' && Number.isFinite(record[field]);
  if (typeof record.owner !== 'string') throw corrupted(key, 'owner is not a string');
  if (!okNumber('token') || !Number.isInteger(record.token) || (record.token as number) < 1) {
    throw corrupted(key, 'token is not a positive integer');
  }
  if (typeof record.nonce !== 'string') throw corrupted(key, 'nonce is not a string');
  if (!okNumber('leaseMs') || (record.leaseMs as number) <= 0)
    throw corrupted(key, 'leaseMs is not positive');
  if (record.state !== 'held' && record.state !== 'released')
    throw corrupted(key, 'state is not held|released');
  if (!okNumber('acquiredAt') || !okNumber('renewedAt')) throw corrupted(key, 'timestamps are not numbers');
  // Optional and informational: a malformed value is dropped, never obeyed.
  if (record.renewMs !== undefined && !(okNumber('renewMs') && (record.renewMs as number) > 0)) {
    delete record.renewMs;
  }
  if (record.successor !== undefined && typeof record.successor !== 'string') delete record.successor;
  if (
    record.data !== undefined &&
    (typeof record.data !== 'object' || record.data === null || Array.isArray(record.data))
  ) {
    delete record.data;
  }
  return record as unknown as LockRecord;
}

/** The token of a record that does not decode, when it still has a usable one (else undefined). */
export function salvageToken(body: Uint8Array): number | undefined {
  try {
    const token = (JSON.parse(new TextDecoder().decode(body)) as { token?: unknown } | null)?.token;
    return typeof token === 'number' && Number.isSafeInteger(token) && token > 0 ? token : undefined;
  } catch {
    return undefined;
  }
}

export function corrupted(key: string, reason: string, cause?: unknown): SchedulerError {
  return new SchedulerError(`Lock object '${key}' is not a lock record: ${reason}`, {
    code: 'STORE_CORRUPTED',
    operation: 'acquire',
    metadata: { key, reason },
    suggestion:
      'Something other than @s3-scheduler/lock wrote this key. It is treated as a lease held by nobody known for maxLeaseMs (plus the margin), then taken over with a token above every earlier one; nothing needs removing by hand.',
    cause,
  });
}
