// End-to-end: two processes, each `db.usePlugin(new SchedulerPlugin({ jobs }))` on an s3db.js
// Database on the real S3 server, no scheduler store option. Every one-second slot between the
// first and the last run must run exactly once, in one of the two processes, and the scheduler's
// objects must be in the database's bucket under its key prefix plus `plugin=scheduler/`.
// Needs: the packages built (`pnpm turbo run build`), S3_ENDPOINT, S3_ACCESS_KEY_ID,
// S3_SECRET_ACCESS_KEY, S3_BUCKET (see CONTRIBUTING.md). Exits non-zero on any failure.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { S3Store } from '../../packages/storage/dist/index.js';

const { S3_ENDPOINT, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_BUCKET, S3_REGION } = process.env;
if (!S3_ENDPOINT || !S3_ACCESS_KEY_ID || !S3_SECRET_ACCESS_KEY || !S3_BUCKET) {
  console.error('s3db-host: set S3_ENDPOINT, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY and S3_BUCKET');
  process.exit(1);
}
const prefix = `s3db-host/${randomUUID()}`;
const endpoint = new URL(S3_ENDPOINT);
endpoint.username = encodeURIComponent(S3_ACCESS_KEY_ID);
endpoint.password = encodeURIComponent(S3_SECRET_ACCESS_KEY);
endpoint.pathname = `/${S3_BUCKET}/${prefix}`;
const connectionString = endpoint.toString();

/**
 * Starts one worker process. `facts` fills with its JSON lines; `until(predicate)` resolves once
 * a fact satisfies it; `stop()` asks it to stop and resolves when it exited. Killed after 100 s.
 */
function worker(name) {
  const child = spawn(process.execPath, ['--no-warnings', 'worker.mjs', connectionString, name], {
    cwd: import.meta.dirname,
    // s3db retries every 404 of a first connect() (no s3db.json yet under a fresh prefix) with
    // 1 s back-off through its task executor: ~17 s per process. Without the executor, 2 s.
    env: { ...process.env, S3DB_EXECUTOR_ENABLED: 'false' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const guard = setTimeout(() => child.kill('SIGKILL'), 100_000);
  const facts = [];
  const waiters = [];
  let buffered = '';
  child.stdout.on('data', (chunk) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop();
    for (const line of lines.filter(Boolean)) {
      facts.push(JSON.parse(line));
      for (const waiter of [...waiters]) waiter();
    }
  });
  const exited = new Promise((resolve, reject) =>
    child.on('exit', (code) => {
      clearTimeout(guard);
      for (const waiter of [...waiters]) waiter();
      if (code === 0) resolve();
      else reject(new Error(`worker ${name} exited with ${code}: ${JSON.stringify(facts)}`));
    }),
  );
  const until = (predicate) =>
    new Promise((resolve, reject) => {
      const check = () => {
        if (predicate(facts)) {
          waiters.splice(waiters.indexOf(check), 1);
          resolve();
        } else if (child.exitCode !== null)
          reject(new Error(`worker ${name} exited early: ${JSON.stringify(facts)}`));
      };
      waiters.push(check);
      check();
    });
  const stop = () => {
    child.stdin.write('stop\n');
    return exited;
  };
  return { facts, until, stop };
}

const ran = (facts) => facts.filter((fact) => fact.run).length;
// `a` starts alone and leads; `b` joins; once `a` ran 3 more slots it stops (it releases the
// lease) and `b` takes over; `b` stops once it ran 4 slots.
const a = worker('a');
await a.until((facts) => ran(facts) >= 3);
const b = worker('b');
await b.until((facts) => facts.some((fact) => fact.started));
const before = ran(a.facts);
await a.until((facts) => ran(facts) >= before + 3);
await a.stop();
await b.until((facts) => ran(facts) >= 4);
await b.stop();
const failures = [];
const check = (ok, message) => {
  if (!ok) failures.push(message);
};

const facts = [...a.facts, ...b.facts];
for (const fact of facts) if (fact.error) console.log(`  (reported) ${fact.worker}: ${fact.error}`);
const runs = facts.filter((fact) => fact.run);
const bySlot = new Map();
for (const run of runs) bySlot.set(run.run, [...(bySlot.get(run.run) ?? []), run.worker]);
const slots = [...bySlot.keys()].sort();
const first = Date.parse(slots[0]);
const last = Date.parse(slots.at(-1));
const missed = new Set(facts.filter((fact) => fact.reason === 'missed').map((fact) => fact.skipped));
const absent = [];
for (let at = first; at <= last; at += 1000) {
  const slot = new Date(at).toISOString();
  if (!bySlot.has(slot)) absent.push(slot);
}
check(slots.length >= 8, `expected at least 8 slots to run, got ${slots.length}`);
// The job's overlap policy is the default, `skip`: a slot due while one of the process's caught-up
// slots is claimed or runs (its cold start, or a hand-over) is rightly skipped and reported. Any
// other skip, or an overlap skip after the process's first on-time run since its catch-up, is a
// slot lost (at a hand-over, a slot once was skipped for overlapping its own claim).
const behindCatchUp = (fact) => {
  const slot = fact.skipped;
  const mine = runs.filter((run) => run.worker === fact.worker && run.run < slot);
  const caughtUp = mine.filter((run) => run.trigger === 'catch-up').map((run) => run.run);
  if (fact.reason !== 'overlap' || caughtUp.length === 0) return false;
  const lastCaughtUp = caughtUp.sort().at(-1);
  return !mine.some((run) => run.trigger === 'schedule' && run.run > lastCaughtUp);
};
const skips = facts.filter((fact) => fact.skipped);
const reported = new Set(skips.filter(behindCatchUp).map((fact) => fact.skipped));
const lost = absent.filter((slot) => !reported.has(slot));
const skippedFor = new Map(skips.map((fact) => [fact.skipped, `${fact.worker}: ${fact.reason}`]));
check(
  lost.length === 0,
  `slots not run: ${lost.map((slot) => (skippedFor.has(slot) ? `${slot} (skipped, ${skippedFor.get(slot)})` : slot)).join(', ')}`,
);
check(
  skips.every((fact) => !bySlot.has(fact.skipped)),
  `slots both run and skipped: ${skips.filter((fact) => bySlot.has(fact.skipped)).map((fact) => fact.skipped)}`,
);
check(missed.size === 0, `slots reported missed (catchUp: 'all'): ${[...missed].join(', ')}`);
const twice = [...bySlot].filter(([, workers]) => workers.length > 1);
check(twice.length === 0, `slots run more than once: ${JSON.stringify(twice)}`);
check(new Set(runs.map((run) => run.worker)).size === 2, 'expected both processes to run slots (hand-over)');
check(
  runs.every((run) => run.sameDb),
  'actions must receive the host database',
);

// The scheduler's objects live in the database's bucket, under its prefix plus plugin=scheduler/.
const store = new S3Store({
  bucket: S3_BUCKET,
  endpoint: S3_ENDPOINT,
  region: S3_REGION ?? 'us-east-1',
  credentials: { accessKeyId: S3_ACCESS_KEY_ID, secretAccessKey: S3_SECRET_ACCESS_KEY },
});
const listed = await store.list(`${prefix}/plugin=scheduler/`, { limit: 1000 });
check(
  listed.objects.some((object) => object.key.includes('/plugin=scheduler/history/')),
  `no run history under ${prefix}/plugin=scheduler/history/`,
);
for (const object of listed.objects) await store.delete(object.key).catch(() => undefined);

console.log(
  `s3db-host: ${slots.length} slots from ${slots[0]} to ${slots.at(-1)}; a ran ${runs.filter((r) => r.worker === 'a').length}, b ran ${runs.filter((r) => r.worker === 'b').length}; ${reported.size} skipped behind a catch-up; ${missed.size} reported missed; ${listed.objects.length} objects under ${prefix}/plugin=scheduler/`,
);
if (failures.length > 0) {
  // The two processes' facts in time order, to tell what happened.
  for (const fact of facts.sort((x, y) => x.at - y.at)) console.error(`  ${JSON.stringify(fact)}`);
  console.error(`s3db-host FAILED:\n- ${failures.join('\n- ')}`);
  process.exit(1);
}
console.log('s3db-host: ok');
