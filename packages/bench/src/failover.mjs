// Failover through the plugin: three SchedulerPlugin instances share one MemoryStore; the leader
// "dies" (its store link fails every request, as a SIGKILLed process looks from the bucket) and
// we time until another instance is promoted. Hand-over: the leader calls stop() instead.
// Default settings on a ManualClock (simulated time, many crash phases), short settings
// (heartbeatInterval 1 s) on a ManualClock and on the real clock.
import { ManualClock } from '@s3-scheduler/core/testing';
import { MemoryStore, SchedulerPlugin } from '@s3-scheduler/plugin';
import { KillableStore, QUICK, report, size, sleep, summarize } from './lib.mjs';

const START = Date.UTC(2026, 0, 1);

async function cluster({ clock, heartbeatInterval }) {
  const memory = new MemoryStore();
  const nodes = [];
  for (let i = 0; i < 3; i++) {
    const link = new KillableStore(memory);
    const scheduler = new SchedulerPlugin({
      store: link,
      workerId: `worker-${i}`,
      logger: null,
      skipColdStart: true,
      ...(clock ? { clock } : {}),
      ...(heartbeatInterval ? { heartbeatInterval } : {}),
      jobs: { yearly: { schedule: '0 0 1 7 *', action: () => undefined } },
    });
    nodes.push({ scheduler, link });
    await scheduler.start();
  }
  return nodes;
}

/** One failover (or hand-over) measurement; `time()` and `step()` abstract the two clocks. */
async function once({ heartbeatInterval, graceful, phaseMs, manual }) {
  const hb = heartbeatInterval ?? 30_000;
  const clock = manual ? new ManualClock({ now: START }) : undefined;
  const time = () => (manual ? clock.monotonic() : performance.now());
  const step = manual ? (ms) => clock.advance(ms) : (ms) => sleep(ms);
  const nodes = await cluster({ clock, heartbeatInterval });
  // A stable leader, every worker seen by every other.
  await step(3 * hb);
  for (let t = 0; !nodes.some((n) => n.scheduler.isLeader()) && t < 1000; t++) await step(hb / 10);
  await step(phaseMs);
  const leader = nodes.find((n) => n.scheduler.isLeader());
  if (!leader) throw new Error('no leader elected');
  let promotedAt;
  for (const node of nodes) {
    if (node === leader) continue;
    node.scheduler.on('plg:scheduler:coordinator-promoted', () => {
      promotedAt ??= time();
    });
  }
  const t0 = time();
  if (graceful) await leader.scheduler.stop();
  else leader.link.killed = true;
  const resolution = manual ? Math.max(10, hb / 300) : 5;
  while (promotedAt === undefined && time() - t0 < 20 * hb) await step(resolution);
  const elapsed = promotedAt === undefined ? Number.POSITIVE_INFINITY : promotedAt - t0;
  if (!graceful) leader.link.killed = false;
  for (const node of nodes) await node.scheduler.stop().catch(() => undefined);
  return elapsed;
}

async function series({ label, heartbeatInterval, manual, phases }) {
  const hb = heartbeatInterval ?? 30_000;
  const crash = [];
  for (let i = 0; i < phases; i++) {
    crash.push(await once({ heartbeatInterval, manual, graceful: false, phaseMs: (i * hb) / phases }));
  }
  const handover = [];
  for (let i = 0; i < phases; i++) {
    handover.push(await once({ heartbeatInterval, manual, graceful: true, phaseMs: (i * hb) / phases }));
  }
  return {
    label,
    clock: manual ? 'manual (simulated)' : 'real',
    heartbeatInterval: hb,
    leaseMs: 3 * hb,
    targetFailoverMs: 4 * hb,
    failover: summarize(crash),
    handover: summarize(handover),
  };
}

const rows = [
  await series({ label: 'default', manual: true, phases: size(12, 2) }),
  await series({ label: 'short', heartbeatInterval: 1_000, manual: true, phases: size(12, 2) }),
  ...(QUICK ? [] : [await series({ label: 'short', heartbeatInterval: 1_000, manual: false, phases: 4 })]),
];
report({ rows });
process.exit(0);
