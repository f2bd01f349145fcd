import { createNonce, createRunId, SchedulerError } from '@s3-scheduler/core';
import { isPreconditionFailed, type ObjectStore } from '@s3-scheduler/storage';
import { DEFAULT_LAYOUT } from '../layout.js';
import { announceChange } from '../store/change-signal.js';

/** What an operator asks the leader to do: actions are code in the app, so only it can run them. */
export type OperatorRequestKind = 'trigger' | 'backfill';
/** `pending` until a leader takes it; `running` while it runs; then `done` or `failed`. */
export type OperatorRequestState = 'pending' | 'running' | 'done' | 'failed';

/**
 * `requests/<id>.json`: one operator request and, once served, its outcome. The leader takes it
 * by compare-and-swap (`pending` → `running`, naming itself) and writes the outcome back the same
 * way; whoever waits for it deletes it once read, and the leader deletes finished requests nobody
 * collected after `REQUEST_RETENTION_MS`.
 */
export interface OperatorRequest {
  v: 1;
  /** A ULID: requests are served oldest first. */
  id: string;
  kind: OperatorRequestKind;
  job: string;
  /** Backfill range, ISO instants, inclusive. */
  from?: string;
  to?: string;
  state: OperatorRequestState;
  /** Who asked (free text, for people), e.g. `cli@host`. */
  requestedBy?: string;
  /** ISO instants. */
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** The leader serving it, and under which epoch. */
  workerId?: string;
  epoch?: number;
  /** Trigger: the run. */
  run?: {
    runId: string;
    status: string;
    durationMs: number;
    error?: { name: string; message: string; code?: string };
  };
  /** Backfill: slot counts and each slot's status (`already-ran` for slots that ran before). */
  backfill?: {
    slots: number;
    ran: number;
    alreadyRan: number;
    runs: Array<{ slot: string; status: string; runId?: string }>;
  };
  /** Why it failed (`JOB_NOT_FOUND`, `JOB_ALREADY_RUNNING`, …); never a secret. */
  error?: { code: string; message: string };
  nonce: string;
}

/** Finished requests nobody collected are deleted by the leader after this long (ms). */
export const REQUEST_RETENTION_MS = 60 * 60_000;

export function requestKey(id: string): string {
  return `${DEFAULT_LAYOUT.requests}${id}.json`;
}

/**
 * Writes a new `pending` request (create-only), then the change signal the leader watches, and
 * returns it. `now` is the caller's clock (ms).
 * Throws what the store throws.
 */
export async function submitRequest(
  store: ObjectStore,
  input: { kind: OperatorRequestKind; job: string; from?: string; to?: string; requestedBy?: string },
  now: number,
): Promise<OperatorRequest> {
  const request: OperatorRequest = {
    v: 1,
    id: createRunId(now),
    kind: input.kind,
    job: input.job,
    ...(input.from === undefined ? {} : { from: input.from }),
    ...(input.to === undefined ? {} : { to: input.to }),
    state: 'pending',
    ...(input.requestedBy === undefined ? {} : { requestedBy: input.requestedBy }),
    createdAt: new Date(now).toISOString(),
    nonce: createNonce(),
  };
  await store.put(requestKey(request.id), JSON.stringify(request), {
    contentType: 'application/json',
    ifNoneMatch: '*',
  });
  // The leader lists requests only when the change signal moved. Stored either way: if the
  // signal cannot be written, the leader finds the request at its next sweep (minutes).
  await announceChange(store, now).catch(() => undefined);
  return request;
}

/** A stored request with its ETag, or `null` when gone. A corrupted one is `STORE_CORRUPTED`. */
export async function readRequest(
  store: ObjectStore,
  id: string,
): Promise<{ request: OperatorRequest; etag: string } | null> {
  const key = requestKey(id);
  const object = await store.get(key);
  if (!object) return null;
  return { request: decodeRequest(key, object.body), etag: object.etag };
}

/** Replaces a request by compare-and-swap; `false` when someone else changed it first. */
export async function replaceRequest(
  store: ObjectStore,
  etag: string,
  next: OperatorRequest,
): Promise<string | false> {
  try {
    const written = await store.put(requestKey(next.id), JSON.stringify({ ...next, nonce: createNonce() }), {
      contentType: 'application/json',
      ifMatch: etag,
    });
    return written.etag;
  } catch (error) {
    if (isPreconditionFailed(error)) return false;
    throw error;
  }
}

/** Deletes a request (once its outcome was read). Deleting one already gone is fine. */
export async function deleteRequest(store: ObjectStore, id: string): Promise<void> {
  await store.delete(requestKey(id));
}

export function decodeRequest(key: string, body: Uint8Array): OperatorRequest {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(body));
  } catch (cause) {
    throw corrupted(key, 'not JSON', cause);
  }
  const request = value as OperatorRequest;
  if (typeof value !== 'object' || value === null || request.v !== 1) throw corrupted(key, 'v is not 1');
  if (typeof request.id !== 'string' || typeof request.job !== 'string')
    throw corrupted(key, 'id or job missing');
  if (request.kind !== 'trigger' && request.kind !== 'backfill') throw corrupted(key, 'unknown kind');
  if (!['pending', 'running', 'done', 'failed'].includes(request.state))
    throw corrupted(key, 'unknown state');
  return request;
}

function corrupted(key: string, reason: string, cause?: unknown): SchedulerError {
  return new SchedulerError(`Stored request '${key}' is corrupted: ${reason}`, {
    code: 'STORE_CORRUPTED',
    operation: 'readRequest',
    metadata: { key, reason },
    suggestion: 'Delete the object; requests are written only by the s3-scheduler CLI.',
    ...(cause === undefined ? {} : { cause }),
  });
}
