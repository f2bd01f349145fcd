// Idle cost of a cluster: N processes (default 3), each with its own scheduler (default options,
// 5 jobs on a daily schedule 12 hours away, so nothing fires in the window) on one bucket prefix.
// Each process talks to the S3 server through its own counting proxy, so every request it makes
// is counted, by AWS price class. After a warm-up, requests are counted for --minutes and printed
// per process and in total as requests per hour and dollars per month at AWS list prices.
//
//   node idle.mjs [--impl s3db|ours] [--minutes 5] [--warmup 90] [--processes 3] [--jobs 5] [--json]
import { parseArgs } from 'node:util';
import {
  countsBetween,
  deletePrefix,
  dollarsPerMonth,
  HOURS_PER_MONTH,
  IMPLEMENTATIONS,
  isLeader,
  logDirFor,
  machineLoad,
  newRunId,
  OP_CLASSES,
  round,
  s3Settings,
  sleep,
  spawnWorker,
  startCountingProxy,
  table,
} from './lib.mjs';

/**
 * Runs one idle measurement and returns its figures:
 * `{ impl, label, processes: [{ name, role, perHour: {OP: n}, total, dollarsPerMonth, statuses }],
 *    total: { perHour, total, dollarsPerMonth }, minutes, warmupSeconds, schedule, … }`.
 */
export async function runIdle({
  impl = 's3db',
  minutes = 5,
  warmup = 90,
  processes = 3,
  jobs = 5,
  log = console.error,
}) {
  const implementation = IMPLEMENTATIONS[impl];
  if (!implementation) throw new Error(`--impl must be one of ${Object.keys(IMPLEMENTATIONS).join(', ')}`);
  if (!(minutes > 0) || minutes > 11 * 60) throw new Error('--minutes must be in (0, 660]');
  const s3 = s3Settings();
  const runId = newRunId();
  const prefix = `bench-s3db/${impl}-idle-${runId}`;
  const logDir = logDirFor(runId);
  // A daily slot 12 hours from now: nothing fires in the window, and the next run is less than
  // 24.8 days away (s3db's timer overflows past that and fires in a loop).
  const schedule = `0 ${(new Date().getUTCHours() + 12) % 24} * * *`;
  log(
    `[${impl}] idle: ${processes} processes × ${jobs} jobs '${schedule}', prefix ${prefix}, logs ${logDir}`,
  );

  await implementation.setUp(s3, prefix);
  const proxies = [];
  const workers = [];
  try {
    for (let i = 1; i <= processes; i++) {
      const proxy = await startCountingProxy(s3.endpoint);
      proxies.push(proxy);
      const name = `p${i}`;
      workers.push(
        spawnWorker({
          script: implementation.script,
          name,
          logDir,
          config: {
            name,
            jobs,
            schedule,
            connectionString: implementation.connectionString(proxy.url, s3, prefix),
          },
        }),
      );
    }
    // Start-up (connect, install, first election) can take a minute on a loaded machine; the
    // warm-up counts from the moment the last worker reported it had started.
    const started = await Promise.all(workers.map((worker) => worker.until((fact) => fact.started, 300_000)));
    if (started.some((fact) => !fact)) throw new Error(`a worker did not start within 300 s; see ${logDir}`);
    log(`[${impl}] all started; warming up for ${warmup} s`);
    await sleep(warmup * 1000);

    const before = proxies.map((proxy) => proxy.snapshot());
    const rolesBefore = workers.map((worker) => worker.facts.filter((fact) => fact.role).length);
    const from = Date.now();
    log(`[${impl}] counting for ${minutes} min (until ${new Date(from + minutes * 60_000).toISOString()})`);
    for (let left = minutes * 60_000; left > 0; left -= 60_000) {
      await sleep(Math.min(60_000, left));
      const dead = workers.filter((worker) => !worker.alive);
      if (dead.length > 0)
        throw new Error(`worker(s) ${dead.map((w) => w.name)} exited early; see ${logDir}`);
    }
    const seconds = (Date.now() - from) / 1000;
    const after = proxies.map((proxy) => proxy.snapshot());

    const perProcess = workers.map((worker, i) => {
      const counted = countsBetween(before[i], after[i]);
      const perHour = Object.fromEntries(
        OP_CLASSES.map((op) => [op, round(((counted.ops[op] ?? 0) * 3600) / seconds, 1)]),
      );
      const total = round(((Object.values(counted.ops).reduce((a, b) => a + b, 0) ?? 0) * 3600) / seconds, 1);
      return {
        name: worker.name,
        role: isLeader(worker) ? 'leader' : 'follower',
        roleChanges: worker.facts.filter((fact) => fact.role).length - rolesBefore[i],
        requests: counted.ops,
        statuses: counted.statuses,
        perHour,
        total,
        dollarsPerMonth: round(dollarsPerMonth(perHour), 3),
      };
    });
    const totalPerHour = Object.fromEntries(
      OP_CLASSES.map((op) => [
        op,
        round(
          perProcess.reduce((sum, p) => sum + p.perHour[op], 0),
          1,
        ),
      ]),
    );
    return {
      impl,
      label: implementation.label,
      processes: perProcess,
      total: {
        perHour: totalPerHour,
        total: round(
          perProcess.reduce((sum, p) => sum + p.total, 0),
          1,
        ),
        dollarsPerMonth: round(dollarsPerMonth(totalPerHour), 3),
      },
      minutes: round(seconds / 60, 2),
      warmupSeconds: warmup,
      jobs,
      schedule,
      hoursPerMonth: HOURS_PER_MONTH,
      runs: workers.reduce((sum, worker) => sum + worker.facts.filter((fact) => fact.run).length, 0),
      errors: workers.flatMap((worker) => worker.facts.filter((fact) => fact.error)),
      prefix,
      machine: machineLoad(),
      logDir,
    };
  } finally {
    for (const worker of workers) if (worker.alive) worker.kill(); // only this run's: compare --parallel runs two at once
    await Promise.all(workers.map((worker) => worker.exited));
    for (const proxy of proxies) proxy.close();
    await deletePrefix(s3, prefix).catch((error) =>
      log(`[${impl}] clean-up of ${prefix} failed: ${error.message}`),
    );
  }
}

/** The human table of one or more idle results. */
export function idleTable(results) {
  const rows = [['', 'process', 'role at end', 'role changes', ...OP_CLASSES, 'requests/h', '$/month']];
  for (const result of results) {
    for (const p of result.processes)
      rows.push([
        result.label,
        p.name,
        p.role,
        p.roleChanges,
        ...OP_CLASSES.map((op) => p.perHour[op]),
        p.total,
        p.dollarsPerMonth,
      ]);
    rows.push([
      result.label,
      'total',
      '',
      result.processes.reduce((sum, p) => sum + p.roleChanges, 0),
      ...OP_CLASSES.map((op) => result.total.perHour[op]),
      result.total.total,
      result.total.dollarsPerMonth,
    ]);
  }
  return table(rows);
}

/** Command line of idle.mjs (s3db by default) and ours-idle.mjs (ours by default). */
export async function idleMain(defaultImpl) {
  const { values } = parseArgs({
    options: {
      impl: { type: 'string', default: defaultImpl },
      minutes: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '90' },
      processes: { type: 'string', default: '3' },
      jobs: { type: 'string', default: '5' },
      json: { type: 'boolean', default: false },
    },
  });
  const result = await runIdle({
    impl: values.impl,
    minutes: Number(values.minutes),
    warmup: Number(values.warmup),
    processes: Number(values.processes),
    jobs: Number(values.jobs),
  });
  const print = values.json ? console.error : console.log;
  print(`\n${idleHeading(result)}\n`);
  print(idleTable([result]));
  if (result.errors.length > 0) print(`\nerrors reported by workers: ${JSON.stringify(result.errors)}`);
  if (values.json) console.log(JSON.stringify(result, null, 2));
  process.exit(0);
}

export function idleHeading(result) {
  return [
    `Idle cost, ${result.processes.length} processes, ${result.jobs} jobs '${result.schedule}', ${result.minutes} min counted after a ${result.warmupSeconds} s warm-up (load average ${result.machine.loadavg.join(' ')} on ${result.machine.cpus} CPUs).`,
    `Requests per hour by AWS price class; $/month = Σ requests/h × ${HOURS_PER_MONTH} h × price (PUT, COPY, POST, LIST $0.005/1000; GET, HEAD, other $0.0004/1000; DELETE free).`,
  ].join('\n');
}

if (process.argv[1] === import.meta.filename) await idleMain('s3db');
