import type { ClusterStatus, HistoryEntry, JobDescriptionView, JobView } from '@s3-scheduler/plugin';
import Table from 'cli-table3';
import type pc from 'picocolors';

type Colors = ReturnType<typeof pc.createColors>;

/** Tables and texts for people. Colours come from `colors` (all identity when colours are off). */
export class Renderer {
  constructor(private readonly c: Colors) {}

  status(status: ClusterStatus, now: number): string {
    const c = this.c;
    const lines: string[] = [];
    const leader = status.leader;
    if (leader?.alive) {
      lines.push(
        `${c.bold('Leader')}  ${c.green(leader.workerId)}  epoch ${leader.epoch}  lease renewed ${ago(leader.renewedAt, now)}`,
      );
    } else if (leader) {
      lines.push(
        `${c.bold('Leader')}  ${c.yellow('none alive')} (last: ${leader.workerId}, epoch ${leader.epoch}, ${leader.state}, ${ago(leader.renewedAt, now)})`,
      );
    } else {
      lines.push(`${c.bold('Leader')}  ${c.yellow('none')} (no leader lease in this bucket and prefix)`);
    }
    if (!status.alive)
      lines.push(c.red('No instance is alive: no live leader lease and no live worker heartbeat.'));
    const workers = this.#table(['Worker', 'Role', 'Last heartbeat', 'Alive']);
    for (const worker of status.workers) {
      workers.push([
        worker.workerId,
        worker.leader ? c.green('leader') : 'follower',
        ago(worker.lastHeartbeat, now),
        worker.alive ? c.green('yes') : c.dim('no'),
      ]);
    }
    lines.push(
      '',
      c.bold(`Workers (${status.workers.filter((worker) => worker.alive).length} alive)`),
      workers.toString(),
    );
    const jobs = this.#table(['Job', 'Schedule', 'Zone', 'Next run', 'Last status', 'State', 'Running on']);
    for (const job of status.jobs) {
      jobs.push([
        job.name,
        job.schedule ?? c.dim('manual'),
        job.timezone,
        job.nextRuns[0] ? `${job.nextRuns[0].fireAt} (${inText(job.nextRuns[0].fireAt, now)})` : c.dim('—'),
        job.lastRun ? this.#statusText(job.lastRun.status) : c.dim('never ran'),
        this.#state(job),
        job.running.map((run) => `${run.workerId ?? '?'} (${run.runId})`).join('\n') || c.dim('—'),
      ]);
    }
    const shown = status.jobs.length < status.totalJobs ? `, the ${status.jobs.length} due soonest` : '';
    lines.push('', c.bold(`Jobs (${status.totalJobs}${shown})`), jobs.toString());
    if (status.catalogPublishedAt === null)
      lines.push(
        c.yellow('No leader has published the job catalog yet: jobs appear once an instance leads.'),
      );
    if (status.activeElsewhere.length > 0) {
      lines.push('', c.bold('Runs started away from the leader'));
      for (const run of status.activeElsewhere) lines.push(`  ${run.job}  ${run.runId}  on ${run.workerId}`);
    }
    return lines.join('\n');
  }

  jobs(jobs: readonly JobView[], now: number): string {
    const table = this.#table(['Job', 'Schedule', 'Zone', 'Next run', 'State', 'Description']);
    for (const job of jobs) {
      table.push([
        job.name,
        job.schedule ?? this.c.dim('manual'),
        job.timezone,
        job.nextRuns[0]
          ? `${job.nextRuns[0].fireAt} (${inText(job.nextRuns[0].fireAt, now)})`
          : this.c.dim('—'),
        this.#state(job),
        job.description,
      ]);
    }
    return table.toString();
  }

  describe(job: JobDescriptionView, now: number): string {
    const c = this.c;
    const d = job.definition;
    const rows: Array<[string, string]> = [
      ['Job', c.bold(job.name)],
      ['Description', job.description || c.dim('—')],
      ['Schedule', job.schedule ?? 'manual only'],
      ['Time zone', job.timezone],
      ['State', this.#state(job)],
    ];
    if (job.pausedNote) rows.push(['Pause note', job.pausedNote]);
    if (d) {
      if (d.dst) rows.push(['DST', `gap ${d.dst.gap}, overlap ${d.dst.overlap}`]);
      rows.push(
        ['Overlap', `${d.overlap}${d.overlap.startsWith('buffer') ? ` (buffer ${d.bufferLimit})` : ''}`],
        ['Catch-up', `${d.catchUp} within ${msText(d.catchUpWindow)}`],
        ['Recovery', d.recovery],
        ['Retries / timeout', `${d.retries} / ${d.timeout === 0 ? 'none' : msText(d.timeout)}`],
      );
      if (d.jitter) rows.push(['Jitter', msText(d.jitter)]);
      if (d.pauseOnFailure) rows.push(['Pause on failure', `after ${d.pauseOnFailure} failed runs`]);
      if (d.maxRuns) rows.push(['Max runs', `${d.maxRuns} (${job.runsTaken} taken)`]);
    } else {
      rows.push(['Definition', c.yellow('not in the leader catalog (no leader published it yet)')]);
    }
    const s = job.statistics;
    rows.push(
      [
        'Runs',
        `${s.total} (${s.completed} completed, ${s.failed} failed, ${s.timeouts} timeouts, ${s.abandoned} abandoned, ${s.skipped} skipped)`,
      ],
      [
        'Success rate',
        // No runs yet: no rate (0% would read as "every run failed").
        `${s.total === 0 ? '—' : `${s.successRate}%`}${s.averageDurationMs === null ? '' : `, mean ${msText(s.averageDurationMs)}`}`,
      ],
      ['Failures in a row', String(job.consecutiveFailures)],
    );
    if (s.lastError) rows.push(['Last error', `${s.lastError.at} ${s.lastError.message}`]);
    if (job.buffered.length) rows.push(['Buffered slots', job.buffered.join(', ')]);
    const info = this.#table([]);
    for (const row of rows) info.push(row);
    const next = this.#table(['Next slot', 'Fires at', 'In']);
    for (const run of job.nextRuns) next.push([run.slot, run.fireAt, inText(run.fireAt, now)]);
    const running = job.running.map(
      (run) => `  ${run.runId} on ${run.workerId ?? '?'} (epoch ${run.epoch ?? '?'}, since ${run.startedAt})`,
    );
    return [
      info.toString(),
      '',
      c.bold('Next runs'),
      job.nextRuns.length ? next.toString() : c.dim('  none'),
      '',
      c.bold('Running now'),
      running.length ? running.join('\n') : c.dim('  nothing'),
      '',
      c.bold('Recent runs'),
      this.history(job.recentRuns),
    ].join('\n');
  }

  history(runs: readonly HistoryEntry[]): string {
    if (runs.length === 0) return this.c.dim('  no runs');
    const table = this.#table(['Run', 'Slot', 'Trigger', 'Status', 'Started', 'Duration', 'Worker', 'Error']);
    for (const run of runs) {
      table.push([
        run.id,
        run.slot ?? this.c.dim('—'),
        run.trigger,
        this.#statusText(run.status),
        run.startTime,
        run.duration === null ? this.c.dim('—') : msText(run.duration),
        run.workerId ?? '?',
        run.error ?? '',
      ]);
    }
    return table.toString();
  }

  /** In tables: a pause shows its note (`status` and `jobs` say why a job does not run). */
  #state(job: Pick<JobView, 'paused' | 'enabled' | 'pausedNote'>): string {
    if (job.paused) return this.c.yellow(job.pausedNote ? `paused: ${job.pausedNote}` : 'paused');
    return job.enabled ? this.c.green('active') : this.c.dim('disabled');
  }

  #statusText(status: string): string {
    if (status === 'completed') return this.c.green(status);
    if (status === 'running') return this.c.cyan(status);
    if (status === 'skipped') return this.c.dim(status);
    return this.c.red(status);
  }

  #table(head: string[]): Table.Table {
    // No colours in cli-table3's own styling: ours are already applied (or off).
    return new Table({
      head: head.map((text) => this.c.bold(text)),
      style: { head: [], border: [], compact: true },
    });
  }
}

/** "in 2m 5s" from now to an ISO instant. */
export function inText(iso: string, now: number): string {
  const ms = Date.parse(iso) - now;
  return ms >= 0 ? `in ${duration(ms)}` : `${duration(-ms)} ago`;
}

/** "12s ago" from an ISO instant to now. */
export function ago(iso: string, now: number): string {
  const ms = now - Date.parse(iso);
  return ms >= 0 ? `${duration(ms)} ago` : `in ${duration(-ms)}`;
}

/** A duration in ms for people: `0.4 ms`, `250 ms`, `1.5 s`, then as `duration`. */
export function msText(ms: number): string {
  if (ms < 1) return `${Math.round(ms * 10) / 10} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${Math.round(ms / 100) / 10} s`;
  return duration(ms);
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}
