// getJobHistory(job, { limit: 20, status }) through the plugin: store requests and time, with
// 100 and with 50,000 stored runs of the job (seeded straight into a MemoryStore).

import { seedHistory } from '@s3-scheduler/history/testing';
import { DEFAULT_LAYOUT, MemoryStore, SchedulerPlugin } from '@s3-scheduler/plugin';
import { PrefixedStore } from '@s3-scheduler/storage';
import { CountingStore } from '@s3-scheduler/storage/testing';
import { report, size, summarize } from './lib.mjs';

const NEWEST = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;
const ITERATIONS = size(50, 5);

async function at(count) {
  const memory = new MemoryStore();
  // One run in 10 failed, as seedHistory does by default; the plugin keeps history under
  // `plugin=scheduler/history/`.
  await seedHistory(new PrefixedStore(memory, DEFAULT_LAYOUT.prefix), {
    job: 'job',
    count,
    newestSlotMs: NEWEST,
    spacingMs: MINUTE,
  });
  const store = new CountingStore(memory);
  const scheduler = new SchedulerPlugin({
    store,
    enableCoordinator: false,
    logger: null,
    jobs: { job: { schedule: '0 0 1 1 *', action: () => undefined } },
  });
  await scheduler.getJobHistory('job', { limit: 1 }); // opens (probes) the store
  const rows = [];
  for (const status of [undefined, 'completed', 'failed']) {
    const times = [];
    let requests;
    let returned;
    for (let i = 0; i < ITERATIONS; i++) {
      store.reset();
      const t0 = performance.now();
      const entries = await scheduler.getJobHistory('job', { limit: 20, ...(status ? { status } : {}) });
      times.push(performance.now() - t0);
      requests = store.snapshot();
      returned = entries.length;
    }
    const stats = summarize(times);
    rows.push({
      storedRuns: count,
      status: status ?? '(any)',
      returned,
      requests,
      p50Ms: stats.p50,
      meanMs: stats.mean,
    });
  }
  return rows;
}

report({ limit: 20, rows: [...(await at(100)), ...(await at(size(50_000, 2_000)))] });
