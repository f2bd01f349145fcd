import { renderFrame } from '@s3-scheduler/cli/view';
import { type Execution, readMarkers } from './executions.js';
import { demoJobs, EXTRA_JOBS } from './jobs.js';
import type { LiveView } from './live-loop.js';
import { LocalCluster } from './local-cluster.js';
import type { DemoSession } from './setup.js';
import {
  formatSummary,
  type JobDefinition,
  newestFirst,
  readAllRuns,
  type Summary,
  summarize,
} from './summary.js';
import { demoFrame } from './view.js';

export interface DemoResult {
  summary: Summary;
  exitCode: number;
}

/**
 * The third phase: ends the pauses, lets a leaderless cluster elect a leader (so the last gap is
 * caught up, as it would be in a longer run) unless no instance is alive, stops the live
 * instances, and judges the run from the store.
 */
export async function finishDemo(session: DemoSession, view: LiveView): Promise<DemoResult> {
  const { io, clock, cluster, options, root, model } = session;
  session.stopTimers.abort();
  await cluster.resumeAll();
  if (!cluster.hasLiveLeader()) {
    if (cluster.liveInstances() === 0) {
      session.note('no instance is alive: nobody can take over, so the demo does not wait for a leader');
    } else {
      session.note('waiting for a leader before stopping, so the last gap is caught up…');
      const deadline = clock.now() + 7 * options.heartbeatMs + options.coldStartMs;
      while (!cluster.hasLiveLeader() && clock.now() < deadline) {
        view.draw();
        await clock.sleep(100);
      }
    }
  }
  const endedAt = clock.now();
  const lastSnapshot = cluster.snapshot();
  session.note('stopping the instances (a graceful stop hands the lease over at once)…');
  view.draw();
  await cluster.stop();

  const jobs: Record<string, JobDefinition> = { ...demoJobs() };
  for (const name of session.addedJobs) jobs[name] = EXTRA_JOBS[name]!;
  const records = await readAllRuns(model, Object.keys(jobs));
  const executions: Execution[] = await readMarkers(root);
  if (cluster instanceof LocalCluster) executions.push(...cluster.counter.list());
  const summary = summarize({
    store: session.description,
    mode: cluster.mode,
    instances: cluster.snapshot().instances.map((instance) => instance.id),
    jobs,
    jobsSince: cluster.jobsSince,
    addedJobs: session.addedJobs,
    records,
    executions,
    promotions: cluster.promotions,
    missedReports: cluster.missedReports,
    startedAt: session.startedAt,
    endedAt,
    allDownAt: cluster.allDownAt,
  });
  view.restoreTerminal();
  if (io.interactive) {
    // The last frame, without colours, stays readable above the summary.
    const frame = renderFrame(
      demoFrame({
        title: 's3-scheduler demo',
        settings: session.settings,
        now: endedAt,
        startedAt: session.startedAt,
        endsAt: session.endsAt,
        snapshot: lastSnapshot,
        recentRuns: newestFirst(records).slice(0, 12),
        events: session.events,
        status: '',
        interactive: false,
      }),
      false,
      io.out.columns ?? 80,
      io.out.rows ?? 24,
    );
    io.out.write(`${frame.join('\n')}\n\n`);
  }
  io.summaryOut.write(options.json ? `${JSON.stringify(summary)}\n` : `\n${formatSummary(summary)}\n`);
  return { summary, exitCode: summary.ok ? 0 : 1 };
}
