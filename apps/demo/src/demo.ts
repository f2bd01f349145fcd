import type { DemoOptions } from './args.js';
import { type DemoResult, finishDemo } from './finish.js';
import { type LiveView, runLiveLoop } from './live-loop.js';
import { ProcessCluster } from './process-cluster.js';
import { type DemoIO, setUpDemo } from './setup.js';

export type { DemoResult } from './finish.js';
export type { DemoIO } from './setup.js';

/**
 * A demo run in three phases: set up (store, cluster, scripted faults; `setup.ts`), the live loop
 * (view and keys until the end is asked for; `live-loop.ts`), and the summary (stop the cluster,
 * judge the run from the store; `finish.ts`). Everything is stopped even on an error, so no child
 * process, timer or raw terminal outlives the demo.
 */
export async function runDemo(options: DemoOptions, io: DemoIO): Promise<DemoResult> {
  const session = await setUpDemo(options, io);
  let view: LiveView | undefined;
  try {
    view = await runLiveLoop(session);
    return await finishDemo(session, view);
  } catch (error) {
    if (session.cluster instanceof ProcessCluster) session.cluster.killAll();
    throw error;
  } finally {
    session.stopTimers.abort();
    view?.dispose();
    view?.restoreTerminal();
  }
}
