import { randomBytes } from 'node:crypto';
import { type Clock, systemClock } from '@s3-scheduler/core';
import { HistoryStore, type RunRecord } from '@s3-scheduler/history';
import { DEFAULT_LAYOUT } from '@s3-scheduler/plugin';
import { connect, type ObjectStore, PrefixedStore } from '@s3-scheduler/storage';
import type { DemoOptions } from './args.js';
import { type Execution, readMarkers } from './executions.js';
import { demoJobs, EXTRA_JOBS } from './jobs.js';
import { LocalCluster } from './local-cluster.js';
import type { Cluster, ClusterEvent } from './model.js';
import { ProcessCluster } from './process-cluster.js';
import { formatSummary, type JobDefinition, readAllRuns, type Summary, summarize } from './summary.js';
import { clockTimeMs } from './time-format.js';
import { ansi, renderFrame, statusLine } from './view.js';

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

export interface DemoResult {
  summary: Summary;
  exitCode: number;
}

const PLAIN_STATUS_EVERY_MS = 5000;
const MAX_EVENTS = 200;

/** `demo-20260301-120000-3f9a/`: each run writes under its own prefix, so runs never mix. */
function runPrefix(now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `demo-${stamp}-${randomBytes(2).toString('hex')}/`;
}

/**
 * Starts the cluster, shows it live, applies the scripted and typed faults, and at the end stops
 * it and judges the run from the stored history.
 */
export async function runDemo(options: DemoOptions, io: DemoIO): Promise<DemoResult> {
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

  const settings = `${cluster.mode} · ${options.instances} instances · heartbeat ${options.heartbeatMs} ms · lease ${3 * options.heartbeatMs} ms · cold start ${options.coldStartMs} ms\nstore ${description}`;
  if (!io.interactive) {
    write(`s3-scheduler demo: ${settings}`);
    write(
      `Starting ${options.instances} instances; the first leader is elected after the ${options.coldStartMs} ms cold-start window.`,
    );
  }

  const addedJobs = new Set<string>();
  let status = 'starting…';
  let ending = false;
  let endRequested: () => void = () => undefined;
  const endPromise = new Promise<void>((resolve) => {
    endRequested = resolve;
  });
  const requestEnd = () => {
    ending = true;
    endRequested();
  };
  const note = (text: string) => {
    status = text;
    if (!io.interactive) write(`${clockTimeMs(clock.now())}  ${text}`);
  };

  const actions = {
    kill: async () => {
      const id = await cluster.killLeader();
      if (id) note(`killed ${id}; watch the others take over when its lease runs out`);
    },
    pause: async () => {
      const id = await cluster.pauseLeader(options.pauseForMs);
      if (id) note(`paused ${id} for ${options.pauseForMs} ms`);
    },
    add: async (name?: string) => {
      const job = name ?? Object.keys(EXTRA_JOBS).find((candidate) => !addedJobs.has(candidate));
      if (!job) {
        note(`every extra job is added already (${Object.keys(EXTRA_JOBS).join(', ')})`);
        return;
      }
      if (addedJobs.has(job)) {
        note(`${job} is added already`);
        return;
      }
      addedJobs.add(job);
      await cluster.addJob(job);
      note(`added ${job} (${EXTRA_JOBS[job]!.schedule})`);
    },
    trigger: async (name: string) => {
      const where = await cluster.trigger(name);
      note(`triggered ${name} on ${where}`);
    },
  };
  let triggerIndex = 0;
  const report = (error: unknown) => note(`error: ${error instanceof Error ? error.message : String(error)}`);

  // Stop everything, even on an error, so no child process or timer outlives the demo.
  const stopTimers = new AbortController();
  let terminalRestored = !io.interactive;
  const restoreTerminal = () => {
    if (terminalRestored) return;
    terminalRestored = true;
    io.input?.setRawMode?.(false);
    io.input?.pause();
    io.out.write(ansi.showCursor + ansi.mainScreen);
  };

  try {
    await cluster.start();
  } catch (error) {
    if (cluster instanceof ProcessCluster) cluster.killAll();
    throw error;
  }
  const startedAt = clock.now();
  const endsAt = options.durationMs === undefined ? undefined : startedAt + options.durationMs;
  status = io.interactive ? '' : status;

  // Scripted faults and operations, at their times after the start.
  const scripted: Array<{ atMs: number; run: () => Promise<void> }> = [
    ...options.killLeaderAt.map((atMs) => ({ atMs, run: actions.kill })),
    ...options.pauseAt.map((atMs) => ({ atMs, run: actions.pause })),
    ...options.addJobs.map(({ job, atMs }) => ({ atMs, run: () => actions.add(job) })),
    ...options.triggers.map(({ job, atMs }) => ({ atMs, run: () => actions.trigger(job) })),
  ];
  for (const step of scripted) {
    void clock
      .sleep(step.atMs, stopTimers.signal)
      .then(() => (ending ? undefined : step.run()))
      .catch((error: unknown) => {
        if (!stopTimers.signal.aborted) report(error);
      });
  }
  if (endsAt !== undefined) {
    void clock
      .sleep(endsAt - startedAt, stopTimers.signal)
      .then(requestEnd)
      .catch(() => undefined);
  }

  // History for the view, read from the store like any other client would.
  const viewHistory = new HistoryStore({ store: new PrefixedStore(root, DEFAULT_LAYOUT.prefix), clock });
  let recentRuns: RunRecord[] | undefined;
  let reading = false;
  const refreshRuns = async (limit: number) => {
    if (reading) return;
    reading = true;
    try {
      const names = cluster.snapshot().jobs.map((job) => job.name);
      const pages = await Promise.all(names.map((name) => viewHistory.query(name, { limit })));
      recentRuns = pages
        .flatMap((page) => page.runs)
        .sort((a, b) => runTime(b) - runTime(a))
        .slice(0, limit);
    } catch (error) {
      report(error);
    } finally {
      reading = false;
    }
  };

  const onSigint = () => {
    if (ending) {
      restoreTerminal();
      if (cluster instanceof ProcessCluster) cluster.killAll();
      process.exit(130);
    }
    note('Ctrl+C: stopping (press again to quit at once)…');
    requestEnd();
  };
  process.on('SIGINT', onSigint);

  if (io.interactive) {
    io.out.write(ansi.altScreen + ansi.hideCursor);
    const input = io.input;
    input?.setRawMode?.(true);
    input?.resume();
    input?.setEncoding('utf8');
    input?.on('data', (key: string) => {
      if (ending) return;
      switch (key) {
        case 'k':
          void actions.kill().catch(report);
          break;
        case 'p':
          void actions.pause().catch(report);
          break;
        case 'a':
          void actions.add().catch(report);
          break;
        case 't': {
          const jobs = cluster.snapshot().jobs.map((job) => job.name);
          const job = jobs[triggerIndex++ % Math.max(1, jobs.length)];
          if (job) void actions.trigger(job).catch(report);
          break;
        }
        case 'q':
        case '\u0003':
          note('stopping…');
          requestEnd();
          break;
      }
    });
  }

  const draw = () => {
    const rows = io.out.rows ?? 50;
    const frame = renderFrame(
      {
        title: 's3-scheduler demo',
        settings,
        now: clock.now(),
        startedAt,
        endsAt,
        snapshot: cluster.snapshot(),
        recentRuns,
        events,
        status,
        interactive: true,
      },
      true,
      io.out.columns ?? 120,
      rows,
    );
    io.out.write(`${ansi.home}${frame.map((line) => line + ansi.clearLine).join('\n')}${ansi.clearBelow}`);
  };

  const refreshEvery = Math.max(500, Math.min(options.heartbeatMs, 1000));
  const loop = async () => {
    let lastStatus = startedAt;
    while (!ending) {
      if (io.interactive) {
        const runsShown = Math.max(5, Math.min(12, (io.out.rows ?? 50) - 30));
        void refreshRuns(runsShown);
        draw();
      } else if (clock.now() - lastStatus >= PLAIN_STATUS_EVERY_MS) {
        lastStatus = clock.now();
        write(statusLine(cluster.snapshot(), lastStatus));
      }
      await Promise.race([
        clock.sleep(io.interactive ? 250 : refreshEvery, stopTimers.signal),
        endPromise,
      ]).catch(() => undefined);
    }
  };
  const looping = loop();
  await endPromise;
  await looping;

  try {
    stopTimers.abort();
    await cluster.resumeAll();
    // A leaderless gap at the very end would leave its slots to nobody: let the cluster elect
    // a leader (and catch up) first, as it would in a longer run.
    if (!cluster.hasLiveLeader()) {
      note('waiting for a leader before stopping, so the last gap is caught up…');
      const deadline = clock.now() + 7 * options.heartbeatMs + options.coldStartMs;
      while (!cluster.hasLiveLeader() && clock.now() < deadline) {
        if (io.interactive) draw();
        await clock.sleep(100);
      }
    }
    const endedAt = clock.now();
    const lastSnapshot = cluster.snapshot();
    note('stopping the instances (a graceful stop hands the lease over at once)…');
    if (io.interactive) draw();
    await cluster.stop();

    const history = new HistoryStore({ store: new PrefixedStore(root, DEFAULT_LAYOUT.prefix), clock });
    const jobs: Record<string, JobDefinition> = { ...demoJobs() };
    for (const name of addedJobs) jobs[name] = EXTRA_JOBS[name]!;
    const records = await readAllRuns(history, Object.keys(jobs));
    const executions: Execution[] = await readMarkers(root);
    if (cluster instanceof LocalCluster) executions.push(...cluster.counter.list());
    const summary = summarize({
      store: description,
      mode: cluster.mode,
      instances: cluster.snapshot().instances.map((instance) => instance.id),
      jobs,
      jobsSince: cluster.jobsSince,
      addedJobs,
      records,
      executions,
      promotions: cluster.promotions,
      missedReports: cluster.missedReports,
      startedAt,
      endedAt,
    });
    restoreTerminal();
    if (io.interactive) {
      // The last frame, without colours, stays readable above the summary.
      io.out.write(
        `${renderFrame(
          {
            title: 's3-scheduler demo',
            settings,
            now: endedAt,
            startedAt,
            endsAt,
            snapshot: lastSnapshot,
            recentRuns: [...records].sort((a, b) => runTime(b) - runTime(a)).slice(0, 12),
            events,
            status: '',
            interactive: false,
          },
          false,
          io.out.columns ?? 120,
          io.out.rows ?? 50,
        ).join('\n')}\n\n`,
      );
    }
    io.summaryOut.write(options.json ? `${JSON.stringify(summary)}\n` : `\n${formatSummary(summary)}\n`);
    return { summary, exitCode: summary.ok ? 0 : 1 };
  } finally {
    process.off('SIGINT', onSigint);
    restoreTerminal();
  }
}

function runTime(run: RunRecord): number {
  return Date.parse(run.slot ?? run.startedAt);
}
