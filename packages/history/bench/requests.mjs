// Store requests per scheduled run, per query and per statistics read, counted with CountingStore
// on a MemoryStore holding 100 and 50,000 runs. Run: `pnpm build && pnpm bench`.
import { ManualClock } from '@s3-scheduler/core/testing';
import { MemoryStore } from '@s3-scheduler/storage';
import { CountingStore } from '@s3-scheduler/storage/testing';
import { HistoryStore } from '../dist/index.js';
import { seedHistory } from '../dist/testing/index.js';

const NEWEST = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;

async function perRun(statsBatchSize, runs = 1000) {
  const store = new CountingStore(new MemoryStore());
  const clock = new ManualClock({ now: NEWEST });
  const history = new HistoryStore({ store, clock, ...(statsBatchSize ? { statsBatchSize } : {}) });
  for (let i = 0; i < runs; i++) {
    const claim = await history.claim({ job: 'job', slot: NEWEST + i * MINUTE });
    if (!claim.claimed) throw new Error('claim lost');
    await clock.advance(MINUTE);
    await history.finish(claim.run, { status: i % 10 === 9 ? 'failed' : 'completed', result: { i } });
  }
  await history.flushStatistics();
  return { statsBatchSize, runs, ...store.snapshot(), perRun: store.total / runs };
}

async function queries(count) {
  const memory = new MemoryStore();
  const started = performance.now();
  await seedHistory(memory, {
    job: 'job',
    count,
    newestSlotMs: NEWEST,
    spacingMs: MINUTE,
    status: (i) => (i % 3 === 2 ? 'failed' : 'completed'),
  });
  const seedMs = Math.round(performance.now() - started);
  const store = new CountingStore(memory);
  const history = new HistoryStore({ store });
  const rows = [];
  const measure = async (name, run) => {
    store.reset();
    const result = await run();
    rows.push({ records: count, query: name, returned: result.runs?.length ?? '-', ...store.snapshot() });
  };
  await measure('query(limit 20)', () => history.query('job', { limit: 20 }));
  await measure("query(limit 20, status 'failed')", () =>
    history.query('job', { limit: 20, status: 'failed' }),
  );
  await measure("query(limit 20, status 'success')", () =>
    history.query('job', { limit: 20, status: 'success' }),
  );
  await measure('query(limit 20, failed, before oldest+70)', () =>
    history.query('job', { limit: 20, status: 'failed', before: NEWEST - (count - 70) * MINUTE }),
  );
  let cursor;
  await measure('query(limit 20) page 2 by cursor', async () => {
    cursor = (await history.query('job', { limit: 20 })).cursor;
    store.reset();
    return history.query('job', { limit: 20, cursor });
  });
  await measure('statistics()', () => history.statistics('job'));
  return { seedMs, rows };
}

const writes = [await perRun(undefined), await perRun(1)];
console.log(
  'Requests per scheduled run (claim + finish; + index entry and marker for the 1 in 10 failed; statistics on a timer):',
);
console.table(writes);
for (const count of [100, 50_000]) {
  const { seedMs, rows } = await queries(count);
  console.log(`Query cost with ${count} stored runs (seeded in ${seedMs} ms):`);
  console.table(rows);
}
