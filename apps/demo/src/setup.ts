import { randomBytes } from 'node:crypto';
import { clockTimeMs } from '@s3-scheduler/cli/view';
import { type Clock, systemClock } from '@s3-scheduler/core';
import { ClusterReadModel, DEFAULT_KEY_PREFIX } from '@s3-scheduler/plugin';
import { connect, type ObjectStore, PrefixedStore } from '@s3-scheduler/storage';
import type { DemoOptions } from './args.js';
import { EXTRA_JOBS } from './jobs.js';
import { LocalCluster } from './local-cluster.js';
import type { Cluster, ClusterEvent } from './model.js';
import { ProcessCluster } from './process-cluster.js';

/** Where the demo writes. `interactive` means a terminal: redraw in place and read keys. */
export interface DemoIO {
  /** The live view or the plain lines. */
  out: NodeJS.WritableStream & { columns?: number; rows?: number };
  /** The summary (text, or JSON with `--json`). */
  summaryOut: NodeJS.WritableStream;
  /** Keys, when interactive. */
  input?: NodeJS.ReadStream;
  interactive: boolean;
  clock?: Clock;
}

/** The live view keeps this many events. */
const MAX_EVENTS = 200;
/** A note (what a key did) stays under the key bar this long, then makes room again. */
export const NOTE_SHOWN_MS = 6000;

/** What a key or a scripted step can do. */
export interface DemoActions {
  kill(): Promise<void>;
  pause(): Promise<void>;
  add(name?: string): Promise<void>;
  trigger(name: string): Promise<void>;
}

/** One demo run from start to summary: the three phases (setup, loop, summary) share it. */
export interface DemoSession {
  readonly options: DemoOptions;
  readonly io: DemoIO;
  readonly clock: Clock;
  /** The run's own prefix in the store. */
  readonly root: ObjectStore;
  /**
   * The cluster as its bucket shows it (the instances' plugins keep the default `keyPrefix` under
   * `root`): the live view's runs and the summary read through it, as `s3-scheduler` does.
   */
  readonly model: ClusterReadModel;
  readonly description: string;
  readonly cluster: Cluster;
  /** The settings lines of the view's header. */
  readonly settings: string;
  readonly events: ClusterEvent[];
  readonly addedJobs: Set<string>;
  readonly actions: DemoActions;
  startedAt: number;
  endsAt: number | undefined;
  /** True once the end was asked for (duration, `q`, Ctrl+C). */
  ending: boolean;
  /** Resolves when the end is asked for. */
  readonly ended: Promise<void>;
  requestEnd(): void;
  /** Aborts the scripted steps and the loop's waits. */
  readonly stopTimers: AbortController;
  /** Says what just happened: a line in plain mode, under the key bar for a while on a terminal. */
  note(text: string): void;
  /** The note to show now (empty once it is older than `NOTE_SHOWN_MS`). */
  currentNote(): string;
  report(error: unknown): void;
  write(line: string): void;
}

/** `demo-20260301-120000-3f9a/`: each run writes under its own prefix, so runs never mix. */
function runPrefix(now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `demo-${stamp}-${randomBytes(2).toString('hex')}/`;
}

/**
 * The first phase: connects to the store, builds the cluster (in this process or one process per
 * instance), starts it, and schedules the scripted faults and the end.
 */
export async function setUpDemo(options: DemoOptions, io: DemoIO): Promise<DemoSession> {
  const clock = io.clock ?? systemClock;
  const write = (line: string) => io.out.write(`${line}\n`);
  const prefix = runPrefix(clock.now());
  const base = await connect(options.store, { clock });
  const root: ObjectStore = new PrefixedStore(base, prefix);
  const description = root.description;
  const cluster: Cluster = options.processes
    ? new ProcessCluster({
        store: options.store,
        runPrefix: prefix,
        description,
        instances: options.instances,
        heartbeatMs: options.heartbeatMs,
        coldStartMs: options.coldStartMs,
        clock,
      })
    : new LocalCluster({
        root,
        description,
        instances: options.instances,
        heartbeatMs: options.heartbeatMs,
        coldStartMs: options.coldStartMs,
        clock,
      });

  const events: ClusterEvent[] = [];
  cluster.onEvent((event) => {
    events.push(event);
    if (events.length > MAX_EVENTS) events.splice(0, events.length - MAX_EVENTS);
    if (!io.interactive) write(`${clockTimeMs(event.at)}  ${event.text}`);
  });

  const settings = `${cluster.mode} · ${options.instances} instances · heartbeat ${options.heartbeatMs} ms (lease ${3 * options.heartbeatMs}) · cold start ${options.coldStartMs} ms\nstore ${description}`;
  if (!io.interactive) {
    write(`s3-scheduler demo: ${settings}`);
    write(
      `Starting ${options.instances} instances; the first leader is elected after the ${options.coldStartMs} ms cold-start window.`,
    );
  }

  let endRequested: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => {
    endRequested = resolve;
  });
  let note = { text: '', at: 0 };
  const addedJobs = new Set<string>();
  const session: DemoSession = {
    options,
    io,
    clock,
    root,
    model: new ClusterReadModel(root, { keyPrefix: DEFAULT_KEY_PREFIX, clock }),
    description,
    cluster,
    settings,
    events,
    addedJobs,
    actions: undefined as unknown as DemoActions,
    startedAt: clock.now(),
    endsAt: undefined,
    ending: false,
    ended,
    requestEnd: () => {
      session.ending = true;
      endRequested();
    },
    stopTimers: new AbortController(),
    note: (text) => {
      note = { text, at: clock.now() };
      if (!io.interactive) write(`${clockTimeMs(note.at)}  ${text}`);
    },
    currentNote: () => (clock.now() - note.at < NOTE_SHOWN_MS ? note.text : ''),
    report: (error) => session.note(`error: ${error instanceof Error ? error.message : String(error)}`),
    write,
  };
  (session as { actions: DemoActions }).actions = demoActions(session);

  try {
    await cluster.start();
  } catch (error) {
    if (cluster instanceof ProcessCluster) cluster.killAll();
    throw error;
  }
  session.startedAt = clock.now();
  session.endsAt = options.durationMs === undefined ? undefined : session.startedAt + options.durationMs;
  scheduleSteps(session);
  return session;
}

function demoActions(session: DemoSession): DemoActions {
  const { cluster, options, addedJobs } = session;
  return {
    kill: async () => {
      const id = await cluster.killLeader();
      if (!id) return;
      session.note(
        cluster.liveInstances() === 0
          ? `killed ${id}, the last live instance: no instance is alive, so no slot can run from now on`
          : `killed ${id}; watch the others take over when its lease runs out`,
      );
    },
    pause: async () => {
      const id = await cluster.pauseLeader(options.pauseForMs);
      if (id) session.note(`paused ${id} for ${options.pauseForMs} ms`);
    },
    add: async (name?: string) => {
      const job = name ?? Object.keys(EXTRA_JOBS).find((candidate) => !addedJobs.has(candidate));
      if (!job) {
        session.note(`every extra job is added already (${Object.keys(EXTRA_JOBS).join(', ')})`);
        return;
      }
      if (addedJobs.has(job)) {
        session.note(`${job} is added already`);
        return;
      }
      addedJobs.add(job);
      await cluster.addJob(job);
      session.note(`added ${job} (${EXTRA_JOBS[job]!.schedule})`);
    },
    trigger: async (name: string) => {
      const where = await cluster.trigger(name);
      session.note(`triggered ${name} on ${where}`);
    },
  };
}

/** The scripted faults and operations at their times after the start, and the end. */
function scheduleSteps(session: DemoSession): void {
  const { options, actions, clock, stopTimers } = session;
  const scripted: Array<{ atMs: number; run: () => Promise<void> }> = [
    ...options.killLeaderAt.map((atMs) => ({ atMs, run: actions.kill })),
    ...options.pauseAt.map((atMs) => ({ atMs, run: actions.pause })),
    ...options.addJobs.map(({ job, atMs }) => ({ atMs, run: () => actions.add(job) })),
    ...options.triggers.map(({ job, atMs }) => ({ atMs, run: () => actions.trigger(job) })),
  ];
  for (const step of scripted) {
    void clock
      .sleep(step.atMs, stopTimers.signal)
      .then(() => (session.ending ? undefined : step.run()))
      .catch((error: unknown) => {
        if (!stopTimers.signal.aborted) session.report(error);
      });
  }
  if (session.endsAt !== undefined) {
    void clock
      .sleep(session.endsAt - session.startedAt, stopTimers.signal)
      .then(session.requestEnd)
      .catch(() => undefined);
  }
}
