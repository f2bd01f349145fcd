// Failover through the plugin, with default options: three SchedulerPlugin instances share one
// store and a job that runs every second; the leader "dies" (its store link fails every request,
// as a SIGKILLed process looks from the bucket), at many phases of its lease renewals, and we time
// until another instance is promoted and until it fires (starts its first run). Hand-over: the
// leader calls stop() instead, and we time how long the cluster had no leader (demotion of the old
// leader → promotion of the new one) and how long stop() took.
// On a ManualClock (simulated time, many phases) over a MemoryStore, and on the real clock over
// the real S3 server when S3_ENDPOINT is set (fewer phases).
import { randomBytes } from 'node:crypto';
import { ManualClock } from '@s3-scheduler/core/testing';
import { MemoryStore, SchedulerPlugin } from '@s3-scheduler/plugin';
import { s3TestBackend } from '@s3-scheduler/storage/testing';
import { KillableStore, QUICK, report, size, sleep, summarize } from './lib.mjs';

const START = Date.UTC(2026, 0, 1);
const LEASE_MS = 12_000; // the default leaseDuration
/** The leader renews every three quarters of its lease on a fast store (`renewFraction` 0.75)… */
const RENEW_MS = (LEASE_MS * 3) / 4;
/** …after the first 3 renewals of its term, which come every half lease. */
const CAUTIOUS_RENEWALS = 3;

async function cluster({ clock, shared, keyPrefix }) {
  const nodes = [];
  for (let i = 0; i < 3; i++) {
    const link = new KillableStore(shared);
    const scheduler = new SchedulerPlugin({
      store: link,
      ...(keyPrefix ? { keyPrefix } : {}),
      workerId: `worker-${i}`,
      logger: null,
      skipColdStart: true,
      ...(clock ? { clock } : {}),
      jobs: { tick: { schedule: '* * * * * *', action: () => undefined } },
    });
    scheduler.on('plg:scheduler:error', () => undefined);
    nodes.push({ scheduler, link });
    await scheduler.start();
  }
  return nodes;
}

/** One failover (or hand-over) measurement, on either clock. */
async function once({ manual, graceful, phaseMs }) {
  const clock = manual ? new ManualClock({ now: START }) : undefined;
  const time = () => (manual ? clock.monotonic() : performance.now());
  const step = manual ? (ms) => clock.advance(ms) : (ms) => sleep(ms);
  const shared = manual ? new MemoryStore() : await s3TestBackend();
  const keyPrefix = manual ? undefined : `bench-failover-${randomBytes(6).toString('hex')}/`;
  const nodes = await cluster({ clock, shared, keyPrefix });
  // A stable leader, followed by its successor (which reads the lease after each renewal).
  for (let t = 0; !nodes.some((n) => n.scheduler.isLeader()) && t < 600; t++) await step(100);
  const leader = nodes.find((n) => n.scheduler.isLeader());
  if (!leader) throw new Error('no leader elected');
  const successor = nodes.find((n) => n !== leader);
  for (let t = 0; successor.scheduler.getLeader() !== leader.scheduler.workerId && t < 600; t++)
    await step(100);
  // Phase: `phaseMs` after one of the leader's steady renewals (every three quarters of the lease,
  // once the first 3 of its term, every half lease, are over).
  let renewedAt;
  let renewals = 0;
  const put = leader.link.put.bind(leader.link);
  leader.link.put = async (key, ...rest) => {
    const result = await put(key, ...rest);
    if (key.endsWith('locks/leader.json')) {
      renewals++;
      renewedAt = time();
    }
    return result;
  };
  for (let t = 0; renewals <= CAUTIOUS_RENEWALS && t < 4 * CAUTIOUS_RENEWALS * RENEW_MS; t += 50)
    await step(50);
  renewedAt = undefined;
  for (let t = 0; renewedAt === undefined && t < 2 * RENEW_MS; t += 50) await step(50);
  await step(phaseMs);
  let promotedAt;
  let firedAt;
  let demotedAt;
  for (const node of nodes) {
    if (node === leader) continue;
    node.scheduler.on('plg:scheduler:coordinator-promoted', () => {
      promotedAt ??= time();
    });
    node.scheduler.on('plg:scheduler:job-started', () => {
      if (promotedAt !== undefined) firedAt ??= time();
    });
  }
  leader.scheduler.on('plg:scheduler:coordinator-demoted', () => {
    demotedAt ??= time();
  });
  const t0 = time();
  let stoppedAt;
  if (graceful) {
    void leader.scheduler.stop().then(() => {
      stoppedAt = time();
    });
  } else leader.link.killed = true;
  const resolution = manual ? 10 : 5;
  while ((firedAt === undefined || (graceful && stoppedAt === undefined)) && time() - t0 < 60_000) {
    await step(resolution);
  }
  const result = graceful
    ? { gap: promotedAt - demotedAt, stop: stoppedAt - t0 }
    : { promoted: promotedAt - t0, fired: firedAt - t0 };
  leader.link.killed = false;
  const stopping = Promise.all(nodes.map((node) => node.scheduler.stop().catch(() => undefined)));
  let stopped = false;
  void stopping.then(() => {
    stopped = true;
  });
  while (!stopped) await step(100);
  return result;
}

async function series({ manual, phases }) {
  const crash = [];
  const handover = [];
  for (let i = 0; i < phases; i++) {
    const phaseMs = Math.round((i * RENEW_MS) / phases);
    crash.push(await once({ manual, graceful: false, phaseMs }));
    handover.push(await once({ manual, graceful: true, phaseMs }));
  }
  return {
    label: 'default',
    clock: manual ? 'manual (simulated), MemoryStore' : 'real, S3 server',
    heartbeatInterval: 30_000,
    leaseMs: LEASE_MS,
    targetFailoverMs: 20_000,
    targetP50Ms: 12_000,
    failover: summarize(crash.map((r) => r.promoted)),
    firstFire: summarize(crash.map((r) => r.fired)),
    handover: summarize(handover.map((r) => r.gap)),
    stop: summarize(handover.map((r) => r.stop)),
  };
}

const rows = [await series({ manual: true, phases: size(12, 2) })];
if (process.env.S3_ENDPOINT && !QUICK) rows.push(await series({ manual: false, phases: 4 }));
report({ rows });
process.exit(0);
