// Renders the collected results as one Markdown table. Peer cells read "value (×r)" where
// r = s3-scheduler ÷ peer, in the metric's own direction (for lateness, heap or time below 1 is
// better for us; for throughput above 1 is).

const PEERS = ['croner', 'node-cron', 'cron-parser'];

function num(value, digits = 1) {
  if (value === undefined || value === null || Number.isNaN(value)) return '–';
  if (!Number.isFinite(value)) return '∞';
  if (Math.abs(value) >= 10_000) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(digits).replace(/\.0+$/, '');
}

const ms = (value) => (value === undefined ? '–' : `${num(value, value < 10 ? 2 : 1)} ms`);
const s = (value) => `${num(value / 1000, 1)} s`;
const bytes = (value) => `${num(value, 0)} B`;

function ratio(ours, peer) {
  if (typeof ours !== 'number' || typeof peer !== 'number' || peer === 0) return '';
  return ` (×${num(ours / peer, ours / peer < 0.1 ? 3 : 2)})`;
}

function verdict(met) {
  if (met === undefined) return '';
  return met ? '✅ met' : '❌ missed';
}

/** Requests per run and $/month at 10 k and 100 k runs a minute, AWS S3 Standard list prices. */
function costTable(r) {
  if (!r.requests?.cost) return [];
  const dollars = (value) => `$${Math.round(value).toLocaleString('en-US')}`;
  const kinds = (byKind) =>
    ['put', 'get', 'list', 'head', 'delete']
      .filter((kind) => byKind[kind])
      .map((kind) => `${kind} ${num(byKind[kind], 2)}`)
      .join(', ');
  return [
    'Cost per scheduled run at AWS S3 Standard list prices (PUT/LIST $0.005, GET/HEAD $0.0004 per 1,000; DELETE free; 730 h a month):',
    '',
    '| scheduler | schedule | requests per run | $/month at 10,000 runs/min | $/month at 100,000 runs/min |',
    '| --- | --- | --- | --- | --- |',
    ...r.requests.cost.map(
      (row) =>
        `| ${row.who} | ${row.label} | ${num(row.perRun, 2)} (${kinds(row.perRunByKind)}) | ${dollars(row.usdPerMonthAt10k)} | ${dollars(row.usdPerMonthAt100k)} |`,
    ),
    '',
  ];
}

export function renderMarkdown(output) {
  const r = output.results;
  const rows = [];
  const add = (benchmark, metric, ours, peers = {}, target = '', met) => {
    const cells = PEERS.map((peer) => {
      const entry = peers[peer];
      if (!entry) return '';
      return `${entry.text}${ratio(entry.ours, entry.value)}`;
    });
    rows.push([benchmark, metric, ours, ...cells, target, verdict(met)]);
  };
  const failed = (name) => r[name]?.error !== undefined;
  for (const [name, value] of Object.entries(r)) {
    if (value?.error) add(name, 'FAILED', value.error.split('\n')[0].slice(0, 120));
  }

  // Requests.
  if (r.requests && !failed('requests')) {
    for (const row of r.requests.perRun) {
      add(
        'Store requests per scheduled run (CountingStore)',
        `${row.jobs} jobs ${row.label}, ${row.runs.toLocaleString('en-US')} runs`,
        `${num(row.perRun, 2)} (put ${num(row.perRunByKind.put, 2)}, get ${num(row.perRunByKind.get, 2)}, list ${num(row.perRunByKind.list, 2)})`,
        {},
        '≤ 2 (claim + final write)',
        row.perRun <= 2.1,
      );
    }
    for (const row of r.requests.idle) {
      add(
        'Store requests per idle hour, each of 3 instances (defaults)',
        `${row.instance ?? ''} ${row.role}`,
        `${num(row.perHour, 0)} (put ${num(row.byKindPerHour.put, 0)}, list ${num(row.byKindPerHour.list, 0)}, get ${num(row.byKindPerHour.get, 0)}, head ${num(row.byKindPerHour.head, 0)}); $${num(row.usdPerMonth ?? 0, 2)}/month`,
      );
    }
    const total = r.requests.idle.reduce((sum, row) => sum + row.perHour, 0);
    const usd = r.requests.idle.reduce((sum, row) => sum + (row.usdPerMonth ?? 0), 0);
    add(
      'Store requests per idle hour, 3-instance cluster (defaults)',
      'total (s3db.js 21.6.2: 4,978)',
      `${num(total, 0)}; $${num(usd, 2)}/month at AWS list prices`,
      {},
      '≤ 2,000',
      total <= 2000,
    );
  }

  // Lateness.
  const late = (name) => (failed(name) ? undefined : r[name]);
  const ours = late('lateness:ours');
  const unbounded = late('lateness:ours-unbounded');
  const million = late('lateness:ours-1m');
  const croner = late('lateness:croner');
  const nodeCron = late('lateness:node-cron');
  const jobs = ours?.jobs ?? croner?.jobs;
  const counted = (row) =>
    `${row.runs.toLocaleString('en-US')}/${row.expectedRuns.toLocaleString('en-US')} runs${row.missing ? `, ${row.missing} never started` : ''}`;
  for (const [label, mine] of [
    ['default maxConcurrentJobs 5', ours],
    [`maxConcurrentJobs ${jobs}`, unbounded],
    [
      `default maxConcurrentJobs, ${million ? num(million.storedKeys, 0) : ''} keys stored before the start`,
      million,
    ],
  ]) {
    if (!mine) continue;
    for (const p of ['p50', 'p99']) {
      const peers = {};
      if (croner) peers.croner = { text: ms(croner[p]), value: croner[p], ours: mine[p] };
      if (nodeCron) peers['node-cron'] = { text: ms(nodeCron[p]), value: nodeCron[p], ours: mine[p] };
      add(
        `Fire lateness, ${jobs} jobs due each second, real clock`,
        `${p}, ${label} (${counted(mine)}${mine.warmupS ? ` of ${mine.seconds} slots after a ${mine.warmupS} s warm-up` : ''})`,
        ms(mine[p]),
        peers,
        p === 'p99' ? '≤ 2× croner' : '',
        p === 'p99' && croner ? mine[p] <= 2 * croner[p] : undefined,
      );
    }
    if (mine.startP99 !== undefined) {
      const peers = {};
      if (croner?.startP99 !== undefined)
        peers.croner = { text: ms(croner.startP99), value: croner.startP99, ours: mine.startP99 };
      if (nodeCron?.startP99 !== undefined)
        peers['node-cron'] = { text: ms(nodeCron.startP99), value: nodeCron.startP99, ours: mine.startP99 };
      add(
        `Fire lateness, ${jobs} jobs due each second, real clock`,
        `p99 of the ${mine.startSlots} slots right after start() (the warm-up, not in the window), ${label}`,
        ms(mine.startP99),
        peers,
      );
    }
    for (const [field, what] of [
      ['cpuSlotToNthP50Ms', `CPU from 10 ms before a slot to its ${mine.nth}th start`],
      ['cpuToNthP50Ms', `CPU from a burst's 1st to its ${mine.nth}th start`],
    ]) {
      if (mine[field] === undefined) continue;
      const peers = {};
      if (croner?.[field] !== undefined)
        peers.croner = { text: ms(croner[field]), value: croner[field], ours: mine[field] };
      if (nodeCron?.[field] !== undefined)
        peers['node-cron'] = { text: ms(nodeCron[field]), value: nodeCron[field], ours: mine[field] };
      add(
        `Fire lateness, ${jobs} jobs due each second, real clock`,
        `${what}, median over the slots, ${label}`,
        ms(mine[field]),
        peers,
      );
    }
  }
  if (million?.createOnlyPutUsFirstKeys !== undefined) {
    add(
      'MemoryStore create-only put while filling it (no scheduler running)',
      `mean over the first vs the last ${num(Math.min(10_000, million.storedKeys / 10), 0)} of ${num(million.storedKeys, 0)} keys`,
      `${num(million.createOnlyPutUsFirstKeys, 1)} µs vs ${num(million.createOnlyPutUsLastKeys, 1)} µs`,
      {},
      'flat',
    );
  }
  if (million && ours) {
    add(
      `Fire lateness, ${jobs} jobs due each second, real clock`,
      `p99 with ${num(million.storedKeys, 0)} stored keys ÷ p99 of a fresh store`,
      `×${num(million.p99 / ours.p99, 2)}`,
      {},
      '≈ 1',
    );
  }

  // Garbage and CPU per burst on simulated time.
  const garbage = late('burst-garbage');
  if (garbage) {
    const what = `${garbage.jobs} jobs due each second, ManualClock, ${garbage.bursts} bursts after a warm-up`;
    add(
      `Burst in steady state: ${what}`,
      `CPU to the ${Math.ceil(garbage.jobs * 0.99)}th start, p50 / p90 over the bursts`,
      `${ms(garbage.cpuToNthP50Ms)} / ${ms(garbage.cpuToNthP90Ms)}`,
    );
    add(
      `Burst in steady state: ${what}`,
      'garbage-collection pause inside the burst: mean / p90; bursts with one',
      `${ms(garbage.gcPauseInWindowMeanMs)} / ${ms(garbage.gcPauseInWindowP90Ms)}; ${garbage.burstsWithGcPause} of ${garbage.bursts}`,
    );
    add(
      `Burst in steady state: ${what}`,
      'bytes allocated per run before its action starts (median over bursts without a collection)',
      `${num(garbage.bytesPerRunBeforeStart, 0)} B`,
    );
    add(
      `Burst in steady state: ${what}`,
      `heap kept per stored history key (${num(garbage.storedKeys, 0)} keys, after full collections)`,
      `${num(garbage.heapPerStoredKeyBytes, 0)} B`,
    );
  }

  // Scale.
  const sc = (name) => (failed(name) ? undefined : r[name]);
  const scaleOurs = sc('scale:ours');
  const scaleShared = sc('scale:ours-shared');
  const scaleCroner = sc('scale:croner');
  const scaleNodeCron = sc('scale:node-cron');
  const n = (scaleOurs ?? scaleCroner)?.jobs;
  for (const [label, mine] of [
    ['distinct expressions', scaleOurs],
    ['one shared expression', scaleShared],
  ]) {
    if (!mine) continue;
    const scaleMetrics = [
      ['heap per job', 'heapPerJobBytes', bytes, '< 1 KB', (v) => v < 1024],
      ['registration (constructor + addJob)', 'registrationMs', ms, '< 2 s', (v) => v < 2000],
      [
        `idle CPU over ${num((mine.idleMs ?? 0) / 1000, 0)} s, no due slot`,
        'idleCpuPercent',
        (v) => `${num(v, 2)} %`,
        '≈ 0',
        (v) => v < 1,
      ],
    ];
    for (const [metric, key, format, target, check] of scaleMetrics) {
      const peers = {};
      if (scaleCroner && label === 'distinct expressions')
        peers.croner = {
          text: `${format(scaleCroner[key])}${scaleCroner.measuredJobs && scaleCroner.measuredJobs !== n && key !== 'idleCpuPercent' ? ` [from ${scaleCroner.measuredJobs.toLocaleString('en-US')} jobs]` : ''}${key === 'idleCpuPercent' && scaleCroner.measuredJobs !== n ? ` [${scaleCroner.measuredJobs.toLocaleString('en-US')} jobs]` : ''}`,
          value: scaleCroner[key],
          ours: mine[key],
        };
      if (scaleNodeCron && label === 'distinct expressions')
        peers['node-cron'] = { text: format(scaleNodeCron[key]), value: scaleNodeCron[key], ours: mine[key] };
      add(
        `${n?.toLocaleString('en-US')} registered jobs, ${label}`,
        metric,
        format(mine[key]),
        peers,
        target,
        check(mine[key]),
      );
    }
    add(
      `${n?.toLocaleString('en-US')} registered jobs, ${label}`,
      'start() + promotion sweep: time, store requests',
      `${s(mine.startAndSweepMs)}, ${mine.startRequests.total.toLocaleString('en-US')} (${mine.startRequests.list.toLocaleString('en-US')} lists)`,
    );
  }

  // History queries.
  if (r.history && !failed('history')) {
    for (const row of r.history.rows) {
      add(
        'getJobHistory(job, { limit: 20, status })',
        `${row.storedRuns.toLocaleString('en-US')} stored runs${row.bucket === 'mixed' ? ' (half in the keys of older versions)' : ''}, status ${row.status}`,
        `${row.requests.total} requests (${row.requests.list} list + ${row.requests.get} get), ${ms(row.p50Ms)} p50, ${row.returned} returned`,
        {},
        'requests independent of history size',
      );
    }
  }

  // Failover.
  if (r.failover && !failed('failover')) {
    for (const row of r.failover.rows) {
      const label = `${row.label} (heartbeat ${s(row.heartbeatInterval)}, lease ${s(row.leaseMs)}), ${row.clock}`;
      const first = row.firstFire ?? row.failover;
      add(
        'Failover: leader dies → new leader fires',
        `${label}, ${first.n} crash phases`,
        `p50 ${s(first.p50)}, max ${s(first.max)} (promoted: p50 ${s(row.failover.p50)}, max ${s(row.failover.max)})`,
        {},
        `p50 ≤ ${s(row.targetP50Ms ?? row.targetFailoverMs)}, max ≤ ${s(row.targetFailoverMs)}`,
        first.max <= row.targetFailoverMs && (row.targetP50Ms === undefined || first.p50 <= row.targetP50Ms),
      );
      add(
        'Hand-over: leader stop() → time without a leader',
        `${label}, ${row.handover.n} phases`,
        `p50 ${ms(row.handover.p50)}, max ${ms(row.handover.max)}${row.stop ? ` (stop() took p50 ${s(row.stop.p50)}, max ${s(row.stop.max)})` : ''}`,
        {},
        '< 1 s',
        row.handover.max < 1000,
      );
    }
  }

  // S3.
  if (r.s3 && !failed('s3')) {
    if (r.s3.skipped) {
      add('Runs per second on the real S3 server', 'trivial actions', `skipped: ${r.s3.skipped}`);
    } else {
      for (const row of r.s3.rows) {
        add(
          'Runs per second on the real S3 server (local Ceph RGW)',
          `${row.jobs} jobs every second, ${row.windowSlots ?? r.s3.seconds} slots after a ${num(row.warmupS ?? 2, 1)} s warm-up${row.steady === false ? ' (never steady)' : ''}`,
          `${num(row.runsPerSecond, 1)} runs/s (${row.windowRuns ?? ''}/${row.expectedRuns ?? ''} runs of the window${row.missing ? `, ${row.missing} missing` : ''}; ${num(row.requestsPerRun, 2)} req/run, lateness p50 ${ms(row.latenessP50Ms)}, p99 ${ms(row.latenessP99Ms)}${row.windowSkipped ? `, ${row.windowSkipped} skipped` : ''})`,
        );
      }
    }
  }

  // next().
  if (r.next && !failed('next')) {
    const ops = r.next.opsPerSecond;
    const peers = {};
    for (const peer of ['croner', 'cron-parser']) {
      peers[peer] = { text: `${num(ops[peer], 0)}/s`, value: ops[peer], ours: ops.ours };
    }
    add(
      'next() throughput, 9 expressions in 9 zones',
      'calls per second',
      `${num(ops.ours, 0)}/s`,
      peers,
      '≥ cron-parser',
      ops.ours >= ops['cron-parser'],
    );
  }

  const m = output.machine;
  const header = [
    'Benchmark',
    'Metric',
    's3-scheduler',
    'croner',
    'node-cron',
    'cron-parser',
    'Target',
    'Met',
  ];
  const escapeCell = (cell) => String(cell ?? '').replaceAll('|', '\\|');
  const lines = [
    `Results of \`pnpm bench\`${output.quick ? ' (BENCH_QUICK=1: tiny sizes, not comparable)' : ''}, ${output.date.slice(0, 10)}, ` +
      `Node ${m.node}, ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB, ${m.platform}.`,
    'Peer cells read "value (×r)" with r = s3-scheduler ÷ peer, measured in the same `pnpm bench` run.',
    '',
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(escapeCell).join(' | ')} |`),
    '',
    ...costTable(r),
  ];
  return lines.join('\n');
}
