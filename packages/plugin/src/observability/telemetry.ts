import { invalidOption, isSchedulerError, type Where } from '@s3-scheduler/core';
import type { DeleteOptions, ListOptions, ObjectStore, PutOptions, ReadOptions } from '@s3-scheduler/storage';
import type { SchedulerEvents } from '../events.js';

/**
 * The parts of an OpenTelemetry `Tracer`/`Span`/`Meter` the plugin uses, written out so that the
 * plugin's types and code never need `@opentelemetry/api` (an optional peer dependency): a
 * `Tracer` from `trace.getTracer()` and a `Meter` from `metrics.getMeter()` fit them.
 */
export type TelemetryAttributes = Record<string, string | number | boolean>;

export interface TelemetrySpan {
  setAttribute(key: string, value: string | number | boolean): unknown;
  /** `code`: 1 OK, 2 ERROR (OpenTelemetry's `SpanStatusCode`). */
  setStatus(status: { code: number; message?: string }): unknown;
  recordException(exception: Error): unknown;
  /** `endTime` in ms since the epoch. */
  end(endTime?: number): void;
}

export interface TelemetryTracer {
  startSpan(name: string, options?: { attributes?: TelemetryAttributes; startTime?: number }): TelemetrySpan;
}

export interface TelemetryMeter {
  createCounter(
    name: string,
    options?: { description?: string; unit?: string },
  ): { add(value: number, attributes?: TelemetryAttributes): void };
  createHistogram(
    name: string,
    options?: { description?: string; unit?: string },
  ): { record(value: number, attributes?: TelemetryAttributes): void };
}

/** The `telemetry` option: `true` uses the global providers of `@opentelemetry/api`, loaded at `start()`. */
export type TelemetryOption = boolean | { tracer?: TelemetryTracer; meter?: TelemetryMeter };

/** `undefined`: off (the default), `'global'`: load `@opentelemetry/api` on demand. */
export type ResolvedTelemetry = undefined | 'global' | { tracer?: TelemetryTracer; meter?: TelemetryMeter };

/** The instrumentation scope the global tracer and meter are asked for. */
export const TELEMETRY_SCOPE = '@s3-scheduler/plugin';

const SPAN_STATUS_ERROR = 2;
const SPAN_STATUS_OK = 1;

/** Validates the `telemetry` option (see `TelemetryOption`); throws `INVALID_OPTION`. */
export function resolveTelemetry(value: unknown, where: Where): ResolvedTelemetry {
  if (value === undefined || value === false) return undefined;
  if (value === true) return 'global';
  const expected = 'true, false or { tracer, meter } from @opentelemetry/api';
  const suggestion =
    "Pass telemetry: { tracer: trace.getTracer('my-app'), meter: metrics.getMeter('my-app') }, or telemetry: true to use the global providers.";
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidOption(where, value, expected, suggestion);
  }
  const { tracer, meter, ...rest } = value as Record<string, unknown>;
  const method = (object: unknown, names: string[]) =>
    typeof object === 'object' &&
    object !== null &&
    names.every((name) => typeof (object as Record<string, unknown>)[name] === 'function');
  if (
    Object.keys(rest).length > 0 ||
    (tracer === undefined && meter === undefined) ||
    (tracer !== undefined && !method(tracer, ['startSpan'])) ||
    (meter !== undefined && !method(meter, ['createCounter', 'createHistogram']))
  ) {
    throw invalidOption(where, value, expected, suggestion);
  }
  return {
    ...(tracer === undefined ? {} : { tracer: tracer as TelemetryTracer }),
    ...(meter === undefined ? {} : { meter: meter as TelemetryMeter }),
  };
}

/** Runs `fn` with `span` as the active span (OpenTelemetry's context), so spans it starts are children. */
export type Activate = <T>(span: TelemetrySpan, fn: () => T) => T;

type Api = typeof import('@opentelemetry/api');

/** `@opentelemetry/api`, or `undefined` when it is not installed. */
async function importApi(): Promise<Api | undefined> {
  try {
    return await import('@opentelemetry/api');
  } catch {
    return undefined;
  }
}

function activation(api: Api): Activate {
  return (span, fn) =>
    api.context.with(
      api.trace.setSpan(api.context.active(), span as unknown as import('@opentelemetry/api').Span),
      fn,
    );
}

/**
 * With `telemetry: { tracer }`, the active-span context comes from `@opentelemetry/api` when it is
 * installed (it is, wherever a tracer was made): imported on demand; without it the spans are
 * still recorded, only not made active.
 */
export async function loadActivation(): Promise<Activate | undefined> {
  const api = await importApi();
  return api ? activation(api) : undefined;
}

/**
 * `telemetry: true`: the global tracer and meter of `@opentelemetry/api`, imported on demand so
 * an application without it pays nothing. Throws `INVALID_OPTION` when it is not installed.
 */
export async function loadGlobalTelemetry(): Promise<{
  tracer: TelemetryTracer;
  meter: TelemetryMeter;
  activate: Activate;
}> {
  const api = await importApi();
  if (!api) {
    throw invalidOption(
      { operation: 'start', option: 'telemetry' },
      true,
      'usable: @opentelemetry/api is not installed',
      'Install it (npm install @opentelemetry/api) and register an SDK, or pass telemetry: { tracer, meter }.',
    );
  }
  return {
    tracer: api.trace.getTracer(TELEMETRY_SCOPE) as unknown as TelemetryTracer,
    meter: api.metrics.getMeter(TELEMETRY_SCOPE) as unknown as TelemetryMeter,
    activate: activation(api),
  };
}

/** Seconds, the unit OpenTelemetry's conventions use for durations. */
const seconds = (ms: number) => ms / 1000;

/**
 * Spans and metrics from the plugin's events, and store request metrics from `instrumentStore`.
 * Span names and attributes (`s3_scheduler.*`) and metric names are listed in the README.
 */
export class Telemetry {
  readonly #tracer: TelemetryTracer | undefined;
  /** Makes a span active around the action; set once `@opentelemetry/api` is loaded. */
  activate: Activate | undefined;
  readonly #now: () => number;
  readonly #monotonic: () => number;
  /** The span of the attempt going on, by run id. */
  readonly #spans = new Map<string, TelemetrySpan>();
  readonly #runs;
  readonly #duration;
  readonly #lateness;
  readonly #leaderChanges;
  readonly #storeRequests;
  readonly #storeDuration;

  constructor(
    instruments: { tracer?: TelemetryTracer; meter?: TelemetryMeter; activate?: Activate },
    clock: { now(): number; monotonic(): number },
  ) {
    this.#tracer = instruments.tracer;
    this.activate = instruments.activate;
    this.#now = () => clock.now();
    this.#monotonic = () => clock.monotonic();
    const meter = instruments.meter;
    this.#runs = meter?.createCounter('s3_scheduler.runs', {
      description:
        'Slots and runs by job and final status (completed, failed, timeout, cancelled, skipped, abandoned).',
    });
    this.#duration = meter?.createHistogram('s3_scheduler.run.duration', {
      description: 'How long a run took, all attempts and back-off included.',
      unit: 's',
    });
    this.#lateness = meter?.createHistogram('s3_scheduler.run.lateness', {
      description: 'How late a scheduled run started after its slot.',
      unit: 's',
    });
    this.#leaderChanges = meter?.createCounter('s3_scheduler.leader.changes', {
      description: 'New leader terms seen by this instance.',
    });
    this.#storeRequests = meter?.createCounter('s3_scheduler.store.requests', {
      description: 'Requests to the object store by operation and outcome.',
    });
    this.#storeDuration = meter?.createHistogram('s3_scheduler.store.duration', {
      description: 'Duration of object store requests.',
      unit: 's',
    });
  }

  observe<K extends keyof SchedulerEvents>(type: K, payload: SchedulerEvents[K]): void {
    switch (type) {
      case 'plg:scheduler:job-started': {
        const event = payload as SchedulerEvents['plg:scheduler:job-started'];
        this.#endSpan(event.runId); // a span left open (cannot happen, but must not leak)
        if (event.attempt === 1 && event.trigger !== 'manual') {
          this.#lateness?.record(seconds(Math.max(0, event.startTime - event.scheduledTime)), {
            's3_scheduler.job': event.jobName,
            's3_scheduler.trigger': event.trigger,
          });
        }
        const span = this.#tracer?.startSpan(`run ${event.jobName}`, {
          startTime: event.startTime,
          attributes: {
            's3_scheduler.job': event.jobName,
            ...(event.slot === null ? {} : { 's3_scheduler.slot': event.slot }),
            's3_scheduler.attempt': event.attempt,
            's3_scheduler.trigger': event.trigger,
            's3_scheduler.worker': event.workerId,
            's3_scheduler.epoch': event.epoch,
            's3_scheduler.run_id': event.runId,
          },
        });
        if (span) this.#spans.set(event.runId, span);
        return;
      }
      case 'plg:scheduler:job-timeout': {
        const event = payload as SchedulerEvents['plg:scheduler:job-timeout'];
        this.#spans.get(event.runId)?.setAttribute('s3_scheduler.timed_out', true);
        return;
      }
      case 'plg:scheduler:job-retry': {
        const event = payload as SchedulerEvents['plg:scheduler:job-retry'];
        this.#endSpan(event.runId, { status: 'failed', error: event.error });
        return;
      }
      case 'plg:scheduler:job-completed': {
        const event = payload as SchedulerEvents['plg:scheduler:job-completed'];
        this.#endSpan(event.runId, { status: 'completed' });
        this.#ended(event.jobName, 'completed', event.duration);
        return;
      }
      case 'plg:scheduler:job-failed': {
        const event = payload as SchedulerEvents['plg:scheduler:job-failed'];
        this.#endSpan(event.runId, { status: event.status, error: event.error });
        this.#ended(event.jobName, event.status, event.duration);
        return;
      }
      case 'plg:scheduler:job-skipped': {
        const event = payload as SchedulerEvents['plg:scheduler:job-skipped'];
        this.#runs?.add(event.count ?? 1, {
          's3_scheduler.job': event.jobName,
          's3_scheduler.status': 'skipped',
          's3_scheduler.reason': event.reason,
        });
        return;
      }
      case 'plg:scheduler:job-abandoned': {
        const event = payload as SchedulerEvents['plg:scheduler:job-abandoned'];
        this.#runs?.add(1, {
          's3_scheduler.job': event.jobName,
          's3_scheduler.status': 'abandoned',
          's3_scheduler.reason': event.action,
        });
        return;
      }
      case 'plg:scheduler:coordinator-elected':
        this.#leaderChanges?.add(1);
        return;
      default:
        return;
    }
  }

  /** Whether spans are recorded and none can be made active yet (see `loadActivation`). */
  get needsActivation(): boolean {
    return this.#tracer !== undefined && this.activate === undefined;
  }

  /**
   * Runs an attempt's action with the attempt's span active, so the spans the action starts (a
   * database call, an HTTP request) are its children. The span was started by `job-started`,
   * which the executor emits just before it calls the action.
   */
  inSpan<T>(runId: string, fn: () => T): T {
    const span = this.#spans.get(runId);
    return span && this.activate ? this.activate(span, fn) : fn();
  }

  #ended(job: string, status: string, durationMs: number): void {
    const attributes = { 's3_scheduler.job': job, 's3_scheduler.status': status };
    this.#runs?.add(1, attributes);
    this.#duration?.record(seconds(durationMs), attributes);
  }

  #endSpan(runId: string, end?: { status: string; error?: Error }): void {
    const span = this.#spans.get(runId);
    if (!span) return;
    this.#spans.delete(runId);
    if (end) {
      span.setAttribute('s3_scheduler.status', end.status);
      if (end.status === 'completed') span.setStatus({ code: SPAN_STATUS_OK });
      else if (end.status !== 'cancelled') {
        if (end.error) span.recordException(end.error);
        span.setStatus({ code: SPAN_STATUS_ERROR, message: end.error?.message ?? end.status });
      }
    }
    span.end(this.#now());
  }

  /** The store with each request counted and timed (`s3_scheduler.store.*`); unchanged without a meter. */
  instrumentStore(store: ObjectStore): ObjectStore {
    if (!this.#storeRequests) return store;
    return new InstrumentedStore(
      store,
      (operation, outcome, startedAt) => {
        const attributes = { 's3_scheduler.operation': operation, 's3_scheduler.outcome': outcome };
        this.#storeRequests?.add(1, attributes);
        this.#storeDuration?.record(seconds(this.#monotonic() - startedAt), attributes);
      },
      this.#monotonic,
    );
  }
}

type Report = (operation: string, outcome: string, startedAt: number) => void;

/**
 * A store that reports each request's operation and outcome: `ok`, `not_found` (a read of a
 * missing key), `precondition_failed` (a conditional write that lost, normal in a cluster), or the
 * error's code in lower case (`store_unavailable`, …; `error` without a code).
 */
class InstrumentedStore implements ObjectStore {
  readonly description: string;
  readonly resolvesOutcomes: boolean;

  constructor(
    readonly inner: ObjectStore,
    readonly report: Report,
    readonly monotonic: () => number,
  ) {
    this.description = inner.description;
    this.resolvesOutcomes = inner.resolvesOutcomes === true;
  }

  async #measure<T>(operation: string, request: () => Promise<T>): Promise<T> {
    const startedAt = this.monotonic();
    try {
      const result = await request();
      this.report(operation, result === null ? 'not_found' : 'ok', startedAt);
      return result;
    } catch (error) {
      this.report(operation, isSchedulerError(error) ? error.code.toLowerCase() : 'error', startedAt);
      throw error;
    }
  }

  get(key: string, options?: ReadOptions) {
    return this.#measure('get', () => this.inner.get(key, options));
  }

  head(key: string, options?: ReadOptions) {
    return this.#measure('head', () => this.inner.head(key, options));
  }

  put(key: string, body: Uint8Array | string, options?: PutOptions) {
    return this.#measure('put', () => this.inner.put(key, body, options));
  }

  delete(key: string, options?: DeleteOptions) {
    return this.#measure('delete', () => this.inner.delete(key, options));
  }

  list(prefix: string, options?: ListOptions) {
    return this.#measure('list', () => this.inner.list(prefix, options));
  }
}
