import { context, metrics, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { ManualClock } from '@s3-scheduler/core/testing';
import { MemoryStore } from '@s3-scheduler/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { SchedulerPlugin } from '../scheduler-plugin.js';
import { stopAll } from '../test-support/stop-all.js';
import type { JobConfig, SchedulerPluginOptions } from '../types.js';

const START = Date.parse('2026-03-01T00:00:30Z');
const live: SchedulerPlugin[] = [];
let clock: ManualClock;
const shutdowns: Array<() => Promise<void>> = [];

afterEach(async () => {
  await stopAll(live, clock);
  for (const shutdown of shutdowns.splice(0)) await shutdown();
});

/** An SDK with in-memory exporters; metrics are read on demand (`collect`), never on a timer. */
function sdk() {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({
    spanProcessors: [new SimpleSpanProcessor({ exporter: spans })],
  });
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // The export interval is far beyond the test: metrics leave only through forceFlush().
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  shutdowns.push(
    () => tracerProvider.shutdown(),
    () => meterProvider.shutdown(),
  );
  /** The data points of one metric, as `{ attributes, value }`. */
  const points = async (name: string) => {
    await reader.forceFlush();
    const all =
      exporter
        .getMetrics()
        .at(-1)
        ?.scopeMetrics.flatMap((scope) => scope.metrics) ?? [];
    const metric = all.find((candidate) => candidate.descriptor.name === name);
    return (metric?.dataPoints ?? []).map((point) => ({ attributes: point.attributes, value: point.value }));
  };
  return { spans, tracerProvider, meterProvider, points };
}

const jobs = (): Record<string, JobConfig> => {
  let calls = 0;
  return {
    // Fails its first attempt, succeeds the second.
    flaky: {
      schedule: '* * * * *',
      retries: 1,
      backoff: { initialMs: 100, maxMs: 100, jitter: 'none' },
      action: () => {
        calls++;
        if (calls % 2 === 1) throw new Error('first attempt fails');
        return 'ok';
      },
    },
    broken: {
      schedule: '* * * * *',
      action: () => {
        throw new Error('always fails');
      },
    },
  };
};

async function start(extra: Partial<SchedulerPluginOptions>) {
  clock = new ManualClock({ now: START });
  const plugin = new SchedulerPlugin({
    store: new MemoryStore(),
    clock,
    workerId: 'w-1',
    skipColdStart: true,
    logger: null,
    jobs: jobs(),
    ...extra,
  });
  live.push(plugin);
  await plugin.start();
  // Every event of the first slot has been emitted once its runs are recorded.
  const done = new Set<string>();
  const ended = new Promise<void>((resolve) => {
    const end = (event: { jobName: string }) => {
      done.add(event.jobName);
      if (done.size === 2) resolve();
    };
    plugin.on('plg:scheduler:job-completed', end).on('plg:scheduler:job-failed', end);
  });
  await clock.advanceTo(Date.parse('2026-03-01T00:01:01Z'));
  await ended;
  return plugin;
}

describe('OpenTelemetry', () => {
  it('gives a span per run attempt (job, slot, attempt, trigger, worker, epoch) with error status on failure', async () => {
    const { spans, tracerProvider, meterProvider } = sdk();
    const plugin = await start({
      telemetry: { tracer: tracerProvider.getTracer('test'), meter: meterProvider.getMeter('test') },
    });
    const epoch = plugin.getEpoch();
    expect(epoch).toBeGreaterThan(0);
    const finished = spans.getFinishedSpans();
    const summary = finished
      .map((span) => ({
        name: span.name,
        job: span.attributes['s3_scheduler.job'],
        slot: span.attributes['s3_scheduler.slot'],
        attempt: span.attributes['s3_scheduler.attempt'],
        trigger: span.attributes['s3_scheduler.trigger'],
        worker: span.attributes['s3_scheduler.worker'],
        epoch: span.attributes['s3_scheduler.epoch'],
        status: span.status.code,
        message: span.status.message,
        exception: span.events.some((event) => event.name === 'exception'),
      }))
      .sort((a, b) => `${a.job}${a.attempt}`.localeCompare(`${b.job}${b.attempt}`));
    const slot = '2026-03-01T00:01:00.000Z';
    const common = { slot, trigger: 'schedule', worker: 'w-1', epoch };
    expect(summary).toEqual([
      {
        name: 'run broken',
        job: 'broken',
        attempt: 1,
        ...common,
        status: SpanStatusCode.ERROR,
        message: 'always fails',
        exception: true,
      },
      {
        name: 'run flaky',
        job: 'flaky',
        attempt: 1,
        ...common,
        status: SpanStatusCode.ERROR,
        message: 'first attempt fails',
        exception: true,
      },
      {
        name: 'run flaky',
        job: 'flaky',
        attempt: 2,
        ...common,
        status: SpanStatusCode.OK,
        message: undefined,
        exception: false,
      },
    ]);
    // Span times are the scheduler's clock (the manual one here).
    const first = finished.find((span) => span.attributes['s3_scheduler.attempt'] === 1)!;
    expect(first.startTime[0]).toBe(Math.floor(Date.parse(slot) / 1000));
  });

  it('records runs by job and status, lateness and duration, leader changes and store requests', async () => {
    const { tracerProvider, meterProvider, points } = sdk();
    await start({
      telemetry: { tracer: tracerProvider.getTracer('test'), meter: meterProvider.getMeter('test') },
    });
    const runs = await points('s3_scheduler.runs');
    expect(runs).toEqual(
      expect.arrayContaining([
        { attributes: { 's3_scheduler.job': 'flaky', 's3_scheduler.status': 'completed' }, value: 1 },
        { attributes: { 's3_scheduler.job': 'broken', 's3_scheduler.status': 'failed' }, value: 1 },
      ]),
    );
    const duration = await points('s3_scheduler.run.duration');
    expect(
      duration
        .map((point) => point.attributes)
        .sort((a, b) => String(a['s3_scheduler.job']).localeCompare(String(b['s3_scheduler.job']))),
    ).toEqual([
      { 's3_scheduler.job': 'broken', 's3_scheduler.status': 'failed' },
      { 's3_scheduler.job': 'flaky', 's3_scheduler.status': 'completed' },
    ]);
    // flaky waited 100 ms between its attempts: its duration includes it.
    const flakyDuration = duration.find((point) => point.attributes['s3_scheduler.job'] === 'flaky')!;
    expect((flakyDuration.value as { sum: number }).sum).toBeGreaterThanOrEqual(0.1);
    const lateness = await points('s3_scheduler.run.lateness');
    expect(lateness).toHaveLength(2);
    for (const point of lateness) {
      expect(point.attributes['s3_scheduler.trigger']).toBe('schedule');
      expect((point.value as { count: number }).count).toBe(1);
      // On time under the manual clock: fired at the slot.
      expect((point.value as { sum: number }).sum).toBeLessThan(1);
    }
    const leader = await points('s3_scheduler.leader.changes');
    expect(leader).toEqual([{ attributes: {}, value: 1 }]);
    const store = await points('s3_scheduler.store.requests');
    const outcome = (operation: string, result: string) =>
      (store.find(
        (point) =>
          point.attributes['s3_scheduler.operation'] === operation &&
          point.attributes['s3_scheduler.outcome'] === result,
      )?.value as number | undefined) ?? 0;
    expect(outcome('put', 'ok')).toBeGreaterThan(0);
    // The claim of a slot is a create-only put; a read of a missing key is `not_found`.
    expect(outcome('get', 'not_found') + outcome('head', 'not_found')).toBeGreaterThan(0);
    const storeDuration = await points('s3_scheduler.store.duration');
    expect(storeDuration.length).toBeGreaterThan(0);
  });

  it("makes the attempt's span active around the action: the spans a job starts are its children", async () => {
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    shutdowns.push(async () => {
      context.disable();
    });
    const { spans, tracerProvider } = sdk();
    const tracer = tracerProvider.getTracer('test');
    clock = new ManualClock({ now: START });
    const plugin = new SchedulerPlugin({
      store: new MemoryStore(),
      clock,
      skipColdStart: true,
      logger: null,
      telemetry: { tracer },
      jobs: {
        query: {
          schedule: '* * * * *',
          action: async () => {
            await Promise.resolve();
            tracer.startSpan('SELECT sessions').end();
          },
        },
      },
    });
    live.push(plugin);
    await plugin.start();
    const done = new Promise((resolve) => plugin.once('plg:scheduler:job-completed', resolve));
    await clock.advanceTo(Date.parse('2026-03-01T00:01:01Z'));
    await done;
    const run = spans.getFinishedSpans().find((span) => span.name === 'run query')!;
    const child = spans.getFinishedSpans().find((span) => span.name === 'SELECT sessions')!;
    expect(child.spanContext().traceId).toBe(run.spanContext().traceId);
    expect(child.parentSpanContext?.spanId).toBe(run.spanContext().spanId);
  });

  it('telemetry: true takes the global providers of @opentelemetry/api, loaded at start', async () => {
    const { spans, tracerProvider, meterProvider, points } = sdk();
    trace.setGlobalTracerProvider(tracerProvider);
    metrics.setGlobalMeterProvider(meterProvider);
    shutdowns.push(async () => {
      trace.disable();
      metrics.disable();
    });
    await start({ telemetry: true });
    expect(spans.getFinishedSpans().length).toBe(3);
    expect(spans.getFinishedSpans()[0]!.instrumentationScope.name).toBe('@s3-scheduler/plugin');
    expect((await points('s3_scheduler.runs')).length).toBeGreaterThan(0);
  });

  it('is off unless asked for, even with global providers registered', async () => {
    const { spans, tracerProvider, meterProvider, points } = sdk();
    trace.setGlobalTracerProvider(tracerProvider);
    metrics.setGlobalMeterProvider(meterProvider);
    shutdowns.push(async () => {
      trace.disable();
      metrics.disable();
    });
    await start({});
    expect(spans.getFinishedSpans()).toEqual([]);
    expect(await points('s3_scheduler.runs')).toEqual([]);
  });
});
