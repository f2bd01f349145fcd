// Failover after SIGKILL: N processes (default 3), each with its own scheduler (default options,
// 5 jobs every minute) on one bucket prefix, straight to the S3 server. The leader is SIGKILLed
// --kills times, at different seconds into the minute (55 s, i.e. a slot due 5 s after the kill,
// then spread over the minute); each time we measure kill → another process announces it leads
// (`plg:scheduler:coordinator-promoted`) and kill → another process runs a job, and count the runs
// of slots from the kill to that first run that nobody ran. After each kill a replacement process
// is started, so the next kill again leaves two survivors. All workers are SIGKILLed at the end.
//
//   node failover.mjs [--impl s3db|ours] [--kills 3] [--processes 3] [--jobs 5] [--timeout 240] [--json]
import { parseArgs } from 'node:util';
import {
  deletePrefix,
  IMPLEMENTATIONS,
  isLeader,
  logDirFor,
  machineLoad,
  newRunId,
  quantile,
  round,
  s3Settings,
  sleep,
  spawnWorker,
  table,
} from './lib.mjs';

const MINUTE = 60_000;

/** The first fact matching `predicate` from any of `workers` within `ms`, or null. */
function firstAmong(workers, predicate, ms) {
  return new Promise((resolve) => {
    let pending = workers.length;
    if (pending === 0) resolve(null);
    for (const worker of workers)
      worker.until(predicate, ms).then((fact) => {
        pending--;
        if (fact) resolve(fact);
        else if (pending === 0) resolve(null);
      });
  });
}

/**
 * Runs the failover measurement and returns
 * `{ impl, label, kills: [{ phase, killed, newLeader, promotedAfter, firstRunAfter, firstRunTrigger,
 *    lostRuns }], promotedAfter: { p50, max }, firstRunAfter: { p50, max }, lostRuns, … }`
 * (times in seconds; null when it did not happen within --timeout).
 */
export async function runFailover({
  impl = 's3db',
  kills = 3,
  processes = 3,
  jobs = 5,
  timeout = 240,
  log = console.error,
}) {
  const implementation = IMPLEMENTATIONS[impl];
  if (!implementation) throw new Error(`--impl must be one of ${Object.keys(IMPLEMENTATIONS).join(', ')}`);
  const s3 = s3Settings();
  const runId = newRunId();
  const prefix = `bench-s3db/${impl}-failover-${runId}`;
  const logDir = logDirFor(runId);
  const schedule = '* * * * *';
  log(
    `[${impl}] failover: ${processes} processes × ${jobs} jobs '${schedule}', ${kills} kills, prefix ${prefix}, logs ${logDir}`,
  );

  await implementation.setUp(s3, prefix);
  const workers = [];
  let spawned = 0;
  const spawnOne = () => {
    const name = `p${++spawned}`;
    const worker = spawnWorker({
      script: implementation.script,
      name,
      logDir,
      config: {
        name,
        jobs,
        schedule,
        connectionString: implementation.connectionString(s3.endpoint, s3, prefix),
      },
    });
    workers.push(worker);
    return worker;
  };
  const alive = () => workers.filter((worker) => worker.alive);
  const runs = () => workers.flatMap((worker) => worker.facts.filter((fact) => fact.run));
  // The leader: the one live process whose latest role event is a promotion; when the events do
  // not name exactly one (s3db re-elects every lease and, on a slow server, its elections fail
  // now and then), the live process that ran the latest slot, if it ran it in the last 70 s.
  const currentLeader = () => {
    const leaders = alive().filter(isLeader);
    if (leaders.length === 1) return { worker: leaders[0], by: 'events' };
    const latest = runs()
      .filter((run) => Date.now() - run.at < 70_000)
      .sort((a, b) => a.at - b.at)
      .at(-1);
    const runner = latest && alive().find((worker) => worker.name === latest.worker);
    return runner ? { worker: runner, by: `runs (${leaders.length} processes claimed to lead)` } : null;
  };
  const results = [];
  try {
    for (let i = 0; i < processes; i++) spawnOne();
    const started = await Promise.all(workers.map((worker) => worker.until((fact) => fact.started, 300_000)));
    if (started.some((fact) => !fact)) throw new Error(`a worker did not start within 300 s; see ${logDir}`);
    // A leader that has run a slot.
    const ready = Date.now();
    while (!(currentLeader() && runs().some((run) => run.worker === currentLeader().worker.name))) {
      if (Date.now() - ready > 300_000) throw new Error(`no leader ran a slot within 300 s; see ${logDir}`);
      await sleep(1000);
    }
    log(`[${impl}] leader ${currentLeader().worker.name} runs slots`);

    for (let k = 0; k < kills; k++) {
      const phase = (55 + Math.round((k * 60) / kills)) % 60;
      let leader = null;
      let killAt = 0;
      for (let attempt = 0; attempt < 5 && !leader; attempt++) {
        // The next instant `phase` seconds into a minute, at least 10 s from now.
        let at = Math.floor(Date.now() / MINUTE) * MINUTE + phase * 1000;
        while (at < Date.now() + 10_000) at += MINUTE;
        await sleep(at - Date.now());
        leader = currentLeader();
        if (leader) {
          killAt = Date.now();
          await leader.worker.kill('SIGKILL');
        } else log(`[${impl}] no leader to kill at ${new Date().toISOString()}; trying the next minute`);
      }
      if (!leader) {
        log(
          `[${impl}] kill ${k + 1}/${kills}: no leader to kill in 5 minutes; stopping here (see ${logDir}/facts.jsonl)`,
        );
        break;
      }
      const leaderBy = leader.by;
      leader = leader.worker;
      const survivors = alive();
      log(`[${impl}] kill ${k + 1}/${kills}: SIGKILL ${leader.name} at ${new Date(killAt).toISOString()}`);
      const [promoted, firstRun] = await Promise.all([
        firstAmong(survivors, (fact) => fact.role === 'promoted' && fact.at >= killAt, timeout * 1000),
        firstAmong(survivors, (fact) => fact.run && fact.at >= killAt, timeout * 1000),
      ]);
      await sleep(10_000); // the other jobs of that slot report their runs
      // Runs of slots from the one before the kill to the one the first new run happened in.
      const lastSlot = Math.floor((firstRun?.at ?? Date.now()) / MINUTE) * MINUTE;
      const ran = new Set(runs().map((run) => `${run.run}@${run.slot}`));
      let lostRuns = 0;
      for (let slot = Math.floor(killAt / MINUTE) * MINUTE; slot <= lastSlot; slot += MINUTE)
        for (let j = 0; j < jobs; j++) if (!ran.has(`job${j}@${slot}`)) lostRuns++;
      const result = {
        phase,
        killed: leader.name,
        leaderBy,
        newLeader: promoted?.worker ?? null,
        promotedAfter: promoted ? round((promoted.at - killAt) / 1000, 1) : null,
        firstRunAfter: firstRun ? round((firstRun.at - killAt) / 1000, 1) : null,
        firstRunBy: firstRun?.worker ?? null,
        firstRunTrigger: firstRun?.trigger ?? null,
        lostRuns,
      };
      results.push(result);
      log(`[${impl}]   ${JSON.stringify(result)}`);
      if (k < kills - 1) {
        const replacement = spawnOne();
        if (!(await replacement.until((fact) => fact.started, 300_000)))
          throw new Error(`replacement ${replacement.name} did not start; see ${logDir}`);
        await sleep(15_000);
      }
    }
  } finally {
    for (const worker of workers) if (worker.alive) worker.kill(); // only this run's: compare --parallel runs two at once
    await Promise.all(workers.map((worker) => worker.exited));
    await deletePrefix(s3, prefix).catch((error) =>
      log(`[${impl}] clean-up of ${prefix} failed: ${error.message}`),
    );
  }
  const figures = (key) => {
    const values = results.map((r) => r[key]).filter((v) => v !== null);
    return { p50: quantile(values, 0.5), max: values.length < results.length ? null : quantile(values, 1) };
  };
  return {
    impl,
    label: implementation.label,
    processes,
    jobs,
    schedule,
    killsRequested: kills,
    kills: results,
    promotedAfter: figures('promotedAfter'),
    firstRunAfter: figures('firstRunAfter'),
    lostRuns: results.reduce((sum, r) => sum + r.lostRuns, 0),
    timeoutSeconds: timeout,
    errors: workers.flatMap((worker) => worker.facts.filter((fact) => fact.error)),
    prefix,
    machine: machineLoad(),
    logDir,
  };
}

/** The human table of one or more failover results. */
export function failoverTable(results) {
  const rows = [
    [
      '',
      'kill',
      's into minute',
      'killed',
      'new leader',
      'promoted after s',
      'first run after s',
      'trigger',
      'lost runs',
    ],
  ];
  for (const result of results) {
    for (const [i, r] of result.kills.entries())
      rows.push([
        result.label,
        i + 1,
        r.phase,
        r.killed,
        r.newLeader ?? '-',
        r.promotedAfter ?? `> ${result.timeoutSeconds}`,
        r.firstRunAfter ?? `> ${result.timeoutSeconds}`,
        r.firstRunTrigger ?? '',
        r.lostRuns,
      ]);
    rows.push([
      result.label,
      'p50 / max',
      '',
      '',
      '',
      `${result.promotedAfter.p50 ?? '-'} / ${result.promotedAfter.max ?? `> ${result.timeoutSeconds}`}`,
      `${result.firstRunAfter.p50 ?? '-'} / ${result.firstRunAfter.max ?? `> ${result.timeoutSeconds}`}`,
      '',
      result.lostRuns,
    ]);
  }
  return table(rows);
}

if (process.argv[1] === import.meta.filename) {
  const { values } = parseArgs({
    options: {
      impl: { type: 'string', default: 's3db' },
      kills: { type: 'string', default: '3' },
      processes: { type: 'string', default: '3' },
      jobs: { type: 'string', default: '5' },
      timeout: { type: 'string', default: '240' },
      json: { type: 'boolean', default: false },
    },
  });
  const result = await runFailover({
    impl: values.impl,
    kills: Number(values.kills),
    processes: Number(values.processes),
    jobs: Number(values.jobs),
    timeout: Number(values.timeout),
  });
  const print = values.json ? console.error : console.log;
  print(
    `\nFailover, ${result.processes} processes, ${result.jobs} jobs '${result.schedule}', leader SIGKILLed ${result.kills.length} times (a replacement started after each; load average ${result.machine.loadavg.join(' ')} on ${result.machine.cpus} CPUs).\n`,
  );
  print(failoverTable([result]));
  if (result.errors.length > 0) print(`\nerrors reported by workers: ${JSON.stringify(result.errors)}`);
  if (values.json) console.log(JSON.stringify(result, null, 2));
  process.exit(0);
}
