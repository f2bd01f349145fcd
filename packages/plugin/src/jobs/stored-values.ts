import { isSchedulerError, MAX_INSTANT_MS, SchedulerError } from '@s3-scheduler/core';
import { METHOD_LIMITS } from '../validate.js';
import type { JobDocument, JobOverrides } from './job-document.js';
import { JOB_KEYS, JOB_LIMITS, normalizeJob } from './job-options.js';

/**
 * Values read back from a job's shared document are input too: an older version, another tool
 * or a hand edit may have stored what this version refuses (`retries: 1e20`, a 1 MB note, a
 * buffer of strings). Each such value is reported through `onInvalid` and ignored (dropped, or
 * reset to its default), never obeyed; the next write of the document stores the clean form.
 */
export function sanitizeJobDocument(
  doc: JobDocument,
  onInvalid: (error: SchedulerError) => void,
  /** The document's object key, named in each report. */
  key?: string,
): JobDocument {
  const name = doc.name.slice(0, METHOD_LIMITS.jobNameLength);
  const report = (field: string, value: unknown, problem: string, cause?: unknown) =>
    onInvalid(
      new SchedulerError(`Stored job document of '${name}': ${field} ${problem}; it is ignored`, {
        code: isSchedulerError(cause) ? cause.code : 'STORE_CORRUPTED',
        operation: 'readJobDocument',
        metadata: {
          jobName: name,
          ...(key === undefined ? {} : { key }),
          field,
          ...(isSchedulerError(cause) ? { value: cause.metadata.value } : { value: typeof value }),
        },
        suggestion:
          'It was written by an older version or another tool. Call updateJob() (or resumeJob()) to store a valid value.',
        ...(cause === undefined ? {} : { cause }),
      }),
    );
  const clean: JobDocument = {
    // Fields this version does not know (a newer one wrote them) are carried along unchanged.
    ...doc,
    v: 1,
    name: doc.name,
    overrides: sanitizeOverrides(name, doc.overrides, report),
    paused: false,
    pausedNote: null,
    consecutiveFailures: count(doc.consecutiveFailures, 'consecutiveFailures', report),
    runsTaken: count(doc.runsTaken, 'runsTaken', report),
    buffer: [],
    since: undefined,
    updatedAt: typeof doc.updatedAt === 'number' && Number.isFinite(doc.updatedAt) ? doc.updatedAt : 0,
    nonce: typeof doc.nonce === 'string' ? doc.nonce.slice(0, 100) : '',
  };
  if (typeof doc.paused === 'boolean') clean.paused = doc.paused;
  else if (doc.paused !== undefined) report('paused', doc.paused, 'is not true or false');
  if (typeof doc.pausedNote === 'string') {
    clean.pausedNote = doc.pausedNote.slice(0, METHOD_LIMITS.pauseNoteLength);
    if (doc.pausedNote.length > METHOD_LIMITS.pauseNoteLength)
      report('pausedNote', doc.pausedNote, 'is too long (cut)');
  } else if (doc.pausedNote != null) report('pausedNote', doc.pausedNote, 'is not a string');
  if (doc.since !== undefined) {
    if (isInstant(doc.since)) clean.since = doc.since;
    else report('since', doc.since, 'is not a valid instant');
  }
  if (clean.since === undefined) delete clean.since;
  if (Array.isArray(doc.buffer)) {
    const slots = doc.buffer.slice(0, JOB_LIMITS.bufferLimit).filter(isInstant);
    if (slots.length !== doc.buffer.length)
      report('buffer', doc.buffer, 'holds values that are not slots, or too many');
    clean.buffer = slots;
  } else if (doc.buffer !== undefined) report('buffer', doc.buffer, 'is not a list of slots');
  return clean;
}

const noop = () => undefined;

/** Each stored override alone must pass the job's validation; combinations are checked on use. */
function sanitizeOverrides(
  name: string,
  overrides: unknown,
  report: (field: string, value: unknown, problem: string, cause?: unknown) => void,
): JobOverrides {
  if (overrides === undefined) return {};
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
    report('overrides', overrides, 'is not an object');
    return {};
  }
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(overrides)) {
    if (key === 'action' || !(JOB_KEYS as readonly string[]).includes(key)) {
      report(`overrides.${key.slice(0, 64)}`, value, 'is not a job option');
      continue;
    }
    try {
      // A stand-in job around the one value: a schedule (so `dst` is checked), an action.
      normalizeJob(
        name,
        { schedule: '0 0 * * *', action: noop, [key]: value },
        { timezone: 'UTC' },
        'readJobDocument',
      );
      Object.defineProperty(kept, key, { value, enumerable: true, writable: true, configurable: true });
    } catch (error) {
      report(`overrides.${key}`, value, 'is not valid', error);
    }
  }
  return kept as JobOverrides;
}

function count(
  value: unknown,
  field: string,
  report: (field: string, value: unknown, problem: string) => void,
): number {
  if (value === undefined) return 0;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  report(field, value, 'is not a count');
  return 0;
}

function isInstant(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_INSTANT_MS;
}
