import type { ClusterSnapshot, InstanceReport } from './model.js';

/**
 * One picture of the cluster from each instance's own report. Jobs and next runs come from the
 * leader (every instance computes them; the leader is the one that fires), else from any
 * instance still alive.
 */
export function mergeReports(reports: readonly InstanceReport[]): ClusterSnapshot {
  const alive = reports.filter(
    (report) => report.instance.state !== 'killed' && report.instance.state !== 'stopped',
  );
  const source =
    alive.find((report) => report.instance.state === 'leader') ??
    alive.find((report) => report.instance.state !== 'paused') ??
    alive[0];
  return {
    instances: reports.map((report) => report.instance),
    jobs: source?.jobs ?? [],
    live: alive.flatMap((report) => report.live).sort((a, b) => b.startedAt - a.startedAt),
  };
}
