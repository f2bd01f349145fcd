import { ansi, type FrameRun, renderFrame } from '@s3-scheduler/cli/view';
import { ProcessCluster } from './process-cluster.js';
import type { DemoSession } from './setup.js';
import { demoFrame, statusLine } from './view.js';

const PLAIN_STATUS_EVERY_MS = 5000;
/** The most runs the view reads back (it shows as many as the terminal's rows allow). */
const MAX_RUNS_READ = 12;

/** The terminal side of a run: drawing, and giving the terminal back. */
export interface LiveView {
  /** Redraws the frame (a no-op without a terminal). */
  draw(): void;
  /** Leaves raw mode and the alternate screen; idempotent. */
  restoreTerminal(): void;
  /** Removes the Ctrl+C handler. */
  dispose(): void;
}

/**
 * The second phase: shows the cluster (a frame redrawn in place on a terminal, a status line
 * every 5 s otherwise) and applies the keys until the end is asked for. Returns the view so the
 * summary phase can keep drawing while it stops the cluster.
 */
export async function runLiveLoop(session: DemoSession): Promise<LiveView> {
  const { io, clock, cluster, options } = session;
  const view = createView(session);
  if (io.interactive) listenToKeys(session);
  const refreshEvery = Math.max(500, Math.min(options.heartbeatMs, 1000));
  let lastStatus = session.startedAt;
  while (!session.ending) {
    if (io.interactive) view.draw();
    else if (clock.now() - lastStatus >= PLAIN_STATUS_EVERY_MS) {
      lastStatus = clock.now();
      session.write(statusLine(cluster.snapshot(), lastStatus));
    }
    await Promise.race([
      clock.sleep(io.interactive ? 250 : refreshEvery, session.stopTimers.signal),
      session.ended,
    ]).catch(() => undefined);
  }
  return view;
}

function createView(session: DemoSession): LiveView {
  const { io, clock, cluster, model } = session;
  // The stored runs, read through the cluster read model like `s3-scheduler watch` reads them.
  let recentRuns: FrameRun[] | undefined;
  let reading = false;
  const refreshRuns = async () => {
    if (reading) return;
    reading = true;
    try {
      const names = cluster.snapshot().jobs.map((job) => job.name);
      recentRuns = await model.recentRuns(names, { perJob: MAX_RUNS_READ, limit: MAX_RUNS_READ });
    } catch (error) {
      session.report(error);
    } finally {
      reading = false;
    }
  };

  let restored = !io.interactive;
  const restoreTerminal = () => {
    if (restored) return;
    restored = true;
    io.input?.setRawMode?.(false);
    io.input?.pause();
    io.out.write(ansi.showCursor + ansi.mainScreen);
  };
  const onSigint = () => {
    if (session.ending) {
      restoreTerminal();
      if (cluster instanceof ProcessCluster) cluster.killAll();
      process.exit(130);
    }
    session.note('Ctrl+C: stopping (press again to quit at once)…');
    session.requestEnd();
  };
  process.on('SIGINT', onSigint);
  if (io.interactive) io.out.write(ansi.altScreen + ansi.hideCursor);

  return {
    draw: () => {
      if (!io.interactive || restored) return;
      void refreshRuns();
      const frame = renderFrame(
        demoFrame({
          title: 's3-scheduler demo',
          settings: session.settings,
          now: clock.now(),
          startedAt: session.startedAt,
          endsAt: session.endsAt,
          snapshot: cluster.snapshot(),
          recentRuns,
          events: session.events,
          status: session.currentNote(),
          interactive: true,
        }),
        true,
        io.out.columns ?? 80,
        io.out.rows ?? 24,
      );
      // Each line clears what is left of the previous frame's line, and the frame what is below it.
      io.out.write(`${ansi.home}${frame.map((line) => line + ansi.clearLine).join('\n')}${ansi.clearBelow}`);
    },
    restoreTerminal,
    dispose: () => {
      process.off('SIGINT', onSigint);
    },
  };
}

function listenToKeys(session: DemoSession): void {
  const { io, actions, cluster } = session;
  let triggerIndex = 0;
  const input = io.input;
  input?.setRawMode?.(true);
  input?.resume();
  input?.setEncoding('utf8');
  input?.on('data', (key: string) => {
    if (session.ending) return;
    switch (key) {
      case 'k':
        void actions.kill().catch(session.report);
        break;
      case 'p':
        void actions.pause().catch(session.report);
        break;
      case 'a':
        void actions.add().catch(session.report);
        break;
      case 't': {
        const jobs = cluster.snapshot().jobs.map((job) => job.name);
        const job = jobs[triggerIndex++ % Math.max(1, jobs.length)];
        if (job) void actions.trigger(job).catch(session.report);
        break;
      }
      case 'q':
      case '\u0003':
        session.note('stopping…');
        session.requestEnd();
        break;
    }
  });
}
