import { clockTime, clockTimeMs } from '@s3-scheduler/cli/view';
import { parseCron } from '@s3-scheduler/cron';
import type { ClusterReadModel, HistoryEntry } from '@s3-scheduler/plugin';
import type { Execution } from './executions.js';
import type { MissedReport, Promotion } from './model.js';

/**
 * Slots this close to the end are not required to have run yet: the timer wakes a few
 * milliseconds after the slot. Slots fired before the end are claimed before `stop()` returns.
 */
export const END_TOLERANCE_MS = 250;
/** A job added while running is expected from this long after it was added (IPC, rescheduling). */
export const ADDED_JOB_GRACE_MS = 1000;

export interface JobDefinition {
  schedule: string | null;
  timezone?: string;
  catchUp?: 'latest' | 'all' | 'none';
}

export interface SummaryInput {
  store: string;
  mode: 'in-process' | 'multi-process';
  instances: readonly string[];
  jobs: Readonly<Record<string, JobDefinition>>;
  /** When each job joined: the cluster's start for configured jobs, the moment of `addJob` else. */
  jobsSince: ReadonlyMap<string, number>;
  /** Whether the job was added while running (its window starts a little later). */
  addedJobs: ReadonlySet<string>;
  /** Every stored run of every job, as read back through the cluster read model. */
  records: readonly HistoryEntry[];
  /** Execution markers from the store, plus the in-process tally. */
  executions: readonly Execution[];
  promotions: readonly Promotion[];
  /** The scheduler's own `job-skipped { reason: 'missed' }` reports (none when absent). */
  missedReports?: readonly MissedReport[];
  startedAt: number;
  endedAt: number;
  /** When the last live instance was killed (no instance alive afterwards), if it was. */
  allDownAt?: number | undefined;
}

export interface JobSummary {
  schedule: string | null;
  catchUp: string;
  /** Slots of the schedule inside the window. */
  expectedSlots: number;
  /** Runs recorded (any trigger, manual included), skipped slots excluded. */
  runs: number;
  byStatus: Record<string, number>;
  byTrigger: Record<string, number>;
  duplicated: string[];
  missed: string[];
  /**
   * Expected slots without a record after the last live instance was killed: nobody was alive
   * to run them. Reported apart; they do not fail the run.
   */
  missedNoInstance: string[];
  /** Slots not run by the `catchUp: 'latest'` policy: superseded by the newest slot of a gap. */
  notRunByPolicy: string[];
  /** Slots the scheduler itself reported not run under the catch-up policy (`job-skipped` missed). */
  reportedMissed: number;
  /** Of `notRunByPolicy` and `missed`, the slots no instance reported: lost silently. */
  unreported: string[];
}

export interface Summary {
  store: string;
  mode: string;
  instances: string[];
  startedAt: string;
  /** The first leader's promotion: slots after it are expected. */
  formedAt: string | null;
  endedAt: string;
  /** When the last live instance was killed, or `null`. */
  allDownAt: string | null;
  leaderTerms: Array<{ workerId: string; epoch: number; at: string }>;
  epochsInHistory: number[];
  epochChanged: boolean;
  jobs: Record<string, JobSummary>;
  runsPerInstance: Record<string, number>;
  totals: {
    runs: number;
    expectedSlots: number;
    duplicated: number;
    missed: number;
    /** Slots after every instance was killed (see `JobSummary.missedNoInstance`). */
    missedNoInstance: number;
    notRunByPolicy: number;
    reportedMissed: number;
    /** Slots neither run nor reported by the scheduler. */
    unreported: number;
    /** Executions (markers, tally) of a slot whose stored record names another run, or no record. */
    executionsWithoutRecord: number;
  };
  /** Distinct instances that ran at least one job. */
  instancesThatRan: number;
  ok: boolean;
}

/**
 * Every run of every job, newest first per job, paged through with the cursors of the cluster
 * read model (`s3-scheduler history` reads the same pages): no key of the layout is known here.
 */
export async function readAllRuns(model: ClusterReadModel, jobs: readonly string[]): Promise<HistoryEntry[]> {
  const records: HistoryEntry[] = [];
  for (const job of jobs) {
    let cursor: string | undefined;
    do {
      const page = await model.runs(job, { limit: 1000, ...(cursor ? { cursor } : {}) });
      records.push(...page.runs);
      cursor = page.cursor;
    } while (cursor);
  }
  return records;
}

/** Runs newest first, by slot (or start time for a manual run), as the live view lists them. */
export function newestFirst(runs: readonly HistoryEntry[]): HistoryEntry[] {
  const time = (run: HistoryEntry) => Date.parse(run.slot ?? run.startTime);
  return [...runs].sort((a, b) => time(b) - time(a));
}

/**
 * The verdict, from stored facts only:
 * - the window of a job is (first leader's promotion, or the moment the job was added + 1 s,
 *   whichever is later) to (end − 250 ms); its expected slots are those of its cron schedule;
 * - a slot is *duplicated* when more than one distinct run id is known for it, counting the run
 *   id of its history record, the markers actions wrote, and (in one process) the tally;
 * - a slot is *not run by policy* when it has no record, its job has `catchUp: 'latest'` and the
 *   next expected slot after its gap has a record with trigger `catch-up` (the newest slot of a
 *   leaderless gap runs; the older ones are dropped on purpose);
 * - an expected slot without a record after the last live instance was killed is *missed with
 *   no instance alive*: reported apart, it does not fail the run (nobody could have run it);
 * - every other expected slot without a record is *missed* (lost by the scheduler: the run
 *   fails). A record in any status counts, including `skipped` (overlap), `failed`, `timeout`
 *   and `abandoned`: the slot was handled.
 */
export function summarize(input: SummaryInput): Summary {
  const firstPromotion = input.promotions.reduce<Promotion | undefined>(
    (first, p) => (!first || p.at < first.at ? p : first),
    undefined,
  );
  const formedAt = firstPromotion?.at;
  const windowEnd = input.endedAt - END_TOLERANCE_MS;
  const jobs: Record<string, JobSummary> = {};
  const runsPerInstance: Record<string, number> = Object.fromEntries(input.instances.map((id) => [id, 0]));
  let executionsWithoutRecord = 0;

  for (const [name, definition] of Object.entries(input.jobs)) {
    const records = input.records.filter((record) => record.jobName === name);
    const summary: JobSummary = {
      schedule: definition.schedule,
      catchUp: definition.catchUp ?? 'latest',
      expectedSlots: 0,
      runs: 0,
      byStatus: {},
      byTrigger: {},
      duplicated: [],
      missed: [],
      missedNoInstance: [],
      notRunByPolicy: [],
      reportedMissed: 0,
      unreported: [],
    };
    const reports = (input.missedReports ?? []).filter((report) => report.job === name);
    const reported = new Set(reports.filter((report) => report.count === 1).map((report) => report.slot));
    for (const report of reports) summary.reportedMissed += report.count;
    // A summary report (a long gap) covers everything up to its newest slot.
    const coveredUntil = Math.max(
      -Infinity,
      ...reports.filter((report) => report.count > 1).map((report) => Date.parse(report.slot)),
    );
    jobs[name] = summary;
    const bySlot = new Map<number, HistoryEntry>();
    for (const record of records) {
      summary.byStatus[record.status] = (summary.byStatus[record.status] ?? 0) + 1;
      if (record.status !== 'skipped') {
        summary.runs++;
        summary.byTrigger[record.trigger] = (summary.byTrigger[record.trigger] ?? 0) + 1;
        const worker = record.workerId ?? 'unknown';
        runsPerInstance[worker] = (runsPerInstance[worker] ?? 0) + 1;
      }
      if (record.slot !== null) bySlot.set(Date.parse(record.slot), record);
    }

    // Duplicates: distinct run ids per slot, from the record and from the actions themselves.
    const runIds = new Map<number, Set<string>>();
    for (const [slot, record] of bySlot) {
      if (record.status !== 'skipped') runIds.set(slot, new Set([record.id]));
    }
    for (const execution of input.executions) {
      if (execution.job !== name || execution.slot === null) continue;
      const slot = Date.parse(execution.slot);
      const recorded = bySlot.get(slot);
      if (!recorded || recorded.id !== execution.runId) executionsWithoutRecord++;
      const ids = runIds.get(slot) ?? new Set<string>();
      ids.add(execution.runId);
      runIds.set(slot, ids);
    }
    for (const [slot, ids] of [...runIds].sort(([a], [b]) => a - b)) {
      if (ids.size > 1) summary.duplicated.push(new Date(slot).toISOString());
    }

    // Missed: expected slots with no record, unless the catch-up policy dropped them.
    const since = input.jobsSince.get(name);
    if (!definition.schedule || formedAt === undefined || since === undefined) continue;
    const from = Math.max(formedAt, input.addedJobs.has(name) ? since + ADDED_JOB_GRACE_MS : since);
    const cron = parseCron(definition.schedule, { timezone: definition.timezone ?? 'UTC' });
    const expected: number[] = [];
    for (let slot = cron.next(from)?.getTime(); slot !== undefined && slot <= windowEnd; ) {
      expected.push(slot);
      slot = cron.next(slot)?.getTime();
    }
    summary.expectedSlots = expected.length;
    let gap: number[] = [];
    const allDownAt = input.allDownAt ?? Infinity;
    const closeGap = (next: HistoryEntry | undefined) => {
      const superseded = summary.catchUp === 'latest' && next?.trigger === 'catch-up';
      for (const slot of gap) {
        const list =
          slot > allDownAt ? summary.missedNoInstance : superseded ? summary.notRunByPolicy : summary.missed;
        list.push(new Date(slot).toISOString());
      }
      gap = [];
    };
    for (const slot of expected) {
      const record = bySlot.get(slot);
      if (record) closeGap(record);
      else gap.push(slot);
    }
    closeGap(undefined);
    for (const slot of [...summary.notRunByPolicy, ...summary.missed].sort()) {
      if (!reported.has(slot) && Date.parse(slot) > coveredUntil) summary.unreported.push(slot);
    }
  }

  const totals = {
    runs: 0,
    expectedSlots: 0,
    duplicated: 0,
    missed: 0,
    missedNoInstance: 0,
    notRunByPolicy: 0,
    reportedMissed: 0,
    unreported: 0,
    executionsWithoutRecord,
  };
  for (const job of Object.values(jobs)) {
    totals.runs += job.runs;
    totals.expectedSlots += job.expectedSlots;
    totals.duplicated += job.duplicated.length;
    totals.missed += job.missed.length;
    totals.missedNoInstance += job.missedNoInstance.length;
    totals.notRunByPolicy += job.notRunByPolicy.length;
    totals.reportedMissed += job.reportedMissed;
    totals.unreported += job.unreported.length;
  }
  const epochsInHistory = [
    ...new Set(
      input.records.map((record) => record.epoch).filter((epoch): epoch is number => epoch !== null),
    ),
  ].sort((a, b) => a - b);
  const leaderTerms = [...input.promotions]
    .sort((a, b) => a.at - b.at)
    .map((p) => ({ workerId: p.workerId, epoch: p.epoch, at: new Date(p.at).toISOString() }));
  const epochs = new Set(leaderTerms.map((term) => term.epoch));
  return {
    store: input.store,
    mode: input.mode,
    instances: [...input.instances],
    startedAt: new Date(input.startedAt).toISOString(),
    formedAt: formedAt === undefined ? null : new Date(formedAt).toISOString(),
    endedAt: new Date(input.endedAt).toISOString(),
    allDownAt: input.allDownAt === undefined ? null : new Date(input.allDownAt).toISOString(),
    leaderTerms,
    epochsInHistory,
    epochChanged: epochs.size > 1 || epochsInHistory.length > 1,
    jobs,
    runsPerInstance,
    totals,
    instancesThatRan: Object.values(runsPerInstance).filter((runs) => runs > 0).length,
    ok: totals.duplicated === 0 && totals.missed === 0 && totals.executionsWithoutRecord === 0,
  };
}

function pad(text: string | number, width: number): string {
  return String(text).padEnd(width);
}

/** The summary as people read it. */
export function formatSummary(summary: Summary): string {
  const lines: string[] = [];
  const at = (iso: string | null) => (iso ? clockTime(Date.parse(iso)) : '-');
  lines.push(`Summary, read back from the stored history (${summary.store})`);
  lines.push(
    `  window: slots after ${summary.formedAt ? clockTimeMs(Date.parse(summary.formedAt)) : '(no leader was ever elected)'} (first leader elected) until ${at(summary.endedAt)} UTC`,
  );
  const terms = summary.leaderTerms.map((t) => `${t.workerId} epoch ${t.epoch} at ${at(t.at)}`);
  lines.push(`  leader terms: ${terms.join(' → ') || 'none'}`);
  lines.push(`  epochs in the history records: ${summary.epochsInHistory.join(', ') || 'none'}`);
  lines.push('');
  const head = [
    pad('  job', 26),
    pad('slots', 6),
    pad('runs', 5),
    pad('ok', 4),
    pad('failed', 7),
    pad('timeout', 8),
    pad('skipped', 8),
    pad('abandoned', 10),
    pad('catch-up', 9),
    pad('manual', 7),
    pad('dup', 4),
    pad('missed', 7),
    pad('no instance', 12),
    pad('not run (catch-up policy)', 27),
    'reported missed',
  ];
  lines.push(head.join(''));
  for (const [name, job] of Object.entries(summary.jobs)) {
    lines.push(
      [
        pad(`  ${name}`, 26),
        pad(job.expectedSlots, 6),
        pad(job.runs, 5),
        pad(job.byStatus.completed ?? 0, 4),
        pad(job.byStatus.failed ?? 0, 7),
        pad(job.byStatus.timeout ?? 0, 8),
        pad(job.byStatus.skipped ?? 0, 8),
        pad(job.byStatus.abandoned ?? 0, 10),
        pad(job.byTrigger['catch-up'] ?? 0, 9),
        pad(job.byTrigger.manual ?? 0, 7),
        pad(job.duplicated.length, 4),
        pad(job.missed.length, 7),
        pad(job.missedNoInstance.length, 12),
        pad(job.notRunByPolicy.length, 27),
        String(job.reportedMissed),
      ].join(''),
    );
  }
  lines.push('');
  const perInstance = Object.entries(summary.runsPerInstance).map(([id, runs]) => `${id} ${runs}`);
  lines.push(`  runs per instance: ${perInstance.join(' · ')}`);
  lines.push(`  duplicated slots: ${summary.totals.duplicated} (must be 0)`);
  lines.push(`  missed slots:     ${summary.totals.missed} (must be 0: slots the scheduler lost)`);
  if (summary.allDownAt !== null) {
    lines.push(
      `  no instance alive after ${clockTimeMs(Date.parse(summary.allDownAt))} (every instance was killed): ${summary.totals.missedNoInstance} slots could not run (not counted as lost)`,
    );
  }
  lines.push(
    `  not run under the catch-up policy: ${summary.totals.notRunByPolicy}; reported missed by the scheduler (job-skipped): ${summary.totals.reportedMissed}; not reported: ${summary.totals.unreported}`,
  );
  if (summary.totals.executionsWithoutRecord > 0) {
    lines.push(`  executions without a matching history record: ${summary.totals.executionsWithoutRecord}`);
  }
  for (const [name, job] of Object.entries(summary.jobs)) {
    if (job.duplicated.length) lines.push(`    ${name} ran twice: ${job.duplicated.join(', ')}`);
    if (job.missed.length) lines.push(`    ${name} missed: ${job.missed.join(', ')}`);
    if (job.unreported.length)
      lines.push(`    ${name} not run and not reported: ${job.unreported.join(', ')}`);
  }
  lines.push(summary.ok ? '  OK: every slot ran at most once and none was lost.' : '  FAILED: see above.');
  return lines.join('\n');
}
