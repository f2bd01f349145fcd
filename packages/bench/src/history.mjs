// getJobHistory(job, { limit: 20, status }) through the plugin: store requests and time, with
// 100 and with 50,000 stored runs of the job (seeded straight into a MemoryStore), in a bucket
// written by this version only and in one upgraded from versions before the sharded keys.

import { seedHistory } from '@s3-scheduler/history/testing';
import { DEFAULT_LAYOUT, MemoryStore, SchedulerPlugin } from '@s3-scheduler/plugin';
import { PrefixedStore } from '@s3-scheduler/storage';
import { CountingStore } from '@s3-scheduler/storage/testing';
import { report, size, summarize } from './lib.mjs';

const NEWEST = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;
const ITERATIONS = size(50, 5);

/**
 * `fresh`: a bucket written by this version only (every run in the sharded keys). `mixed`: a
 * bucket upgraded from versions before the sharded keys at `NEWEST` (its layout record says so):
 * the older half of the runs in the legacy keys, the newer half sharded.
 */
async function at(count, bucket) {
  const memory = new MemoryStore();
  const scheduler = new PrefixedStore(memory, DEFAULT_LAYOUT.prefix);
  // One run in 10 failed, as seedHistory does by default; the plugin keeps history under
  // `plugin=scheduler/history/`.
  const seed = { job: 'job', spacingMs: MINUTE, prefix: DEFAULT_LAYOUT.history };
  if (bucket === 'fresh') {
    await seedHistory(scheduler, { ...seed, count, newestSlotMs: NEWEST });
  } else {
    const half = Math.floor(count / 2);
    await seedHistory(scheduler, { ...seed, count: half, newestSlotMs: NEWEST - MINUTE, keys: 'legacy' });
    await seedHistory(scheduler, {
      ...seed,
      count: count - half,
      newestSlotMs: NEWEST + (count - half) * MINUTE,
    });
    const shardedFrom = new Date(NEWEST).toISOString();
    await scheduler.put(DEFAULT_LAYOUT.historyKeys.layoutRecord, JSON.stringify({ v: 1, shardedFrom }));
  }
  const store = new CountingStore(memory);
  const plugin = new SchedulerPlugin({
    store,
    enableCoordinator: false,
    logger: null,
    jobs: { job: { schedule: '0 0 1 1 *', action: () => undefined } },
  });
  await plugin.getJobHistory('job', { limit: 1 }); // opens (probes) the store, reads the layout record
  const firstCall = store.snapshot();
  const rows = [];
  const queries = [
    ['(any)', {}],
    ['completed', { status: 'completed' }],
    ['failed', { status: 'failed' }],
  ];
  // A page that holds the 10 oldest runs after the switch and the 10 newest before it.
  if (bucket === 'mixed')
    queries.push(['(any), page across the switch', { before: NEWEST + 10 * MINUTE + 1 }]);
  for (const [label, query] of queries) {
    const times = [];
    let requests;
    let returned;
    for (let i = 0; i < ITERATIONS; i++) {
      store.reset();
      const t0 = performance.now();
      const entries = await plugin.getJobHistory('job', { limit: 20, ...query });
      times.push(performance.now() - t0);
      requests = store.snapshot();
      returned = entries.length;
    }
    const stats = summarize(times);
    rows.push({
      storedRuns: count,
      bucket,
      firstCall,
      status: label,
      returned,
      requests,
      p50Ms: stats.p50,
      meanMs: stats.mean,
    });
  }
  return rows;
}

const large = size(50_000, 2_000);
report({
  limit: 20,
  rows: [...(await at(100, 'fresh')), ...(await at(large, 'fresh')), ...(await at(large, 'mixed'))],
});
