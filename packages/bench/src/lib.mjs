// Helpers shared by the benchmark scripts. Each script runs in its own child process (see
// run-all.mjs) and reports with `report(result)`: one JSON line on stdout, prefixed `RESULT `.

/** `BENCH_QUICK=1`: tiny sizes, for a CI smoke run of the whole chain in well under a minute. */
export const QUICK = process.env.BENCH_QUICK === '1';

/** Picks the full or the quick size. */
export const size = (full, quick) => (QUICK ? quick : full);

/** Wall-clock time with sub-millisecond resolution. */
export const preciseNow = () => performance.timeOrigin + performance.now();

export function report(result) {
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

export function summarize(samples) {
  const sorted = Float64Array.from(samples).sort();
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    n: sorted.length,
    min: sorted[0],
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1],
    mean: sum / sorted.length,
  };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Full garbage collection (the scripts run under `node --expose-gc`), twice to settle weak refs. */
export async function fullGc() {
  if (!globalThis.gc) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await sleep(20);
  }
}

/** Forwards to a store until killed, then fails every request: a crashed process, seen from the bucket. */
export class KillableStore {
  killed = false;
  constructor(inner) {
    this.inner = inner;
    this.description = inner.description;
  }
  #check() {
    if (this.killed) return Promise.reject(new Error('process killed'));
    return undefined;
  }
  get(...args) {
    return this.#check() ?? this.inner.get(...args);
  }
  head(...args) {
    return this.#check() ?? this.inner.head(...args);
  }
  put(...args) {
    return this.#check() ?? this.inner.put(...args);
  }
  delete(...args) {
    return this.#check() ?? this.inner.delete(...args);
  }
  list(...args) {
    return this.#check() ?? this.inner.list(...args);
  }
}

/** Cron expressions that cannot fire in the next few weeks: yearly, in a month at least two away. */
export function farExpressions(count, withSeconds = false) {
  const month = new Date().getUTCMonth(); // 0-based
  const expressions = [];
  for (let i = 0; i < count; i++) {
    const m = ((month + 2 + (i % 6)) % 12) + 1;
    const day = 1 + (i % 28);
    const hour = Math.floor(i / 60) % 24;
    const minute = i % 60;
    expressions.push(`${withSeconds ? `${i % 60} ` : ''}${minute} ${hour} ${day} ${m} *`);
  }
  return expressions;
}
