import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseCron } from '@s3-scheduler/cron';
import { HistoryStore } from '@s3-scheduler/history';
import { DEFAULT_LAYOUT } from '@s3-scheduler/plugin';
import { PrefixedStore } from '@s3-scheduler/storage';
import { s3TestBackend, uniqueTestPrefix } from '@s3-scheduler/storage/testing';
import { CHAOS_JOBS, type ChaosLine } from './protocol.js';

export interface ChaosOptions {
  /** Wall time of the chaos phase. Default 150 s. */
  durationMs?: number;
  /** The leader is killed about this often (±15 %). Default 20 s. */
  killEveryMs?: number;
  processes?: number;
  /**
   * The leader is paused (SIGSTOP, then SIGCONT after `pauseMs`) about this often (±15 %), between
   * kills. Default: never.
   */
  pauseEveryMs?: number;
  /** How long a pause lasts. Default 10 s (longer than the 6 s lease: someone else takes over). */
  pauseMs?: number;
  /**
   * Freezes of the S3 server itself: `pid()` names its radosgw process, which is stopped (SIGSTOP)
   * for `durationMs`, then continued, about every `everyMs`. Never the shared server's process.
   */
  freeze?: { pid: () => number; everyMs: number; durationMs: number };
  /** Enforced deadline of each store request in the workers (ms). Default the store's, 10 s. */
  requestTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface ChaosResult {
  prefix: string;
  durationMs: number;
  kills: number;
  pauses: number;
  freezes: number;
  epochs: number[];
  /**
   * Per fault (kill or pause of the leader, freeze of the server): ms from its start until a new
   * promotion was reported (for a freeze: from the thaw), or `null` when none followed it.
   */
  failovers: { fault: string; ms: number | null }[];
  /** Whether, at the end, a process still running led with the highest epoch ever promoted. */
  liveLeaderAtEnd: boolean;
  /** `STORE_UNAVAILABLE` errors reported by the processes (during freezes). */
  unavailableErrors: number;
  /** Per job: slots examined, claimed, missed, executed more than once. */
  /**
   * Per job, over the slots from its first claimed one to `stopAt − 10 s`: how many there
   * were, how many have a history record, which have none (missed), which were executed more
   * than once (duplicated), and the records by status (`skipped` = claimed while the job was
   * still running on the leader, per `overlap: 'skip'`; not executed, not missed).
   */
  jobs: Record<
    string,
    {
      from: string;
      to: string;
      expected: number;
      claimed: number;
      executed: number;
      missed: string[];
      /** The records of the slots within 15 s of a missed one (diagnosis). */
      around: string[];
      duplicated: string[];
      statuses: Record<string, number>;
    }
  >;
  errors: number;
}

// The compiled worker, whether this module runs from src (tests) or from dist.
const WORKER = fileURLToPath(new URL('../../dist/chaos/worker.js', import.meta.url));

/**
 * Four processes on the real S3 server run the same jobs; the current leader is killed with
 * SIGKILL about every 20 s and replaced by a fresh process. Then all stop, and the stored
 * history and the reported executions are compared with the schedule.
 *
 * "Missed" is precise here: the jobs use `catchUp: 'all'` with a 10-minute `catchUpWindow`,
 * far longer than a failover (lease 6 s + margin + one 2 s heartbeat), so every slot from the
 * first claimed one up to 10 s before the processes were stopped must have a history record
 * (`completed`, or `abandoned` when its leader was killed mid-run), and none may run twice.
 */
export async function runChaos(options: ChaosOptions = {}): Promise<ChaosResult> {
  const durationMs = options.durationMs ?? 150_000;
  const killEveryMs = options.killEveryMs ?? 20_000;
  const count = options.processes ?? 4;
  const log = options.log ?? (() => undefined);
  const backend = await s3TestBackend();
  if (!backend) throw new Error('S3_ENDPOINT is not set');
  const prefix = `${uniqueTestPrefix()}chaos/`;
  const children = new Map<string, ChildProcess>();
  const executions = new Map<string, string[]>();
  const epochs: number[] = [];
  let leader: { workerId: string; epoch: number; demoted?: boolean } | undefined;
  let errors = 0;
  let unavailableErrors = 0;
  let next = 0;
  const promotions: number[] = [];

  const onLine = (raw: string) => {
    let line: ChaosLine;
    try {
      line = JSON.parse(raw) as ChaosLine;
    } catch {
      return;
    }
    if (line.type === 'leader') {
      epochs.push(line.epoch);
      promotions.push(Date.now());
      if (!leader || line.epoch > leader.epoch) leader = { workerId: line.workerId, epoch: line.epoch };
      log(`leader ${line.workerId} epoch ${line.epoch}`);
    } else if (line.type === 'demoted') {
      if (leader && line.workerId === leader.workerId && line.epoch === leader.epoch) leader.demoted = true;
      log(`demoted ${line.workerId} epoch ${line.epoch} (${line.reason})`);
    } else if (line.type === 'exec' && line.slot) {
      const key = `${line.job}|${line.slot}`;
      executions.set(key, [...(executions.get(key) ?? []), line.workerId]);
    } else if (line.type === 'error') {
      errors++;
      if (line.code === 'STORE_UNAVAILABLE') unavailableErrors++;
    }
  };
  const launch = () => {
    const workerId = `chaos-${String(next++).padStart(2, '0')}`;
    const child = spawn(process.execPath, [WORKER], {
      env: {
        ...process.env,
        CHAOS_WORKER_ID: workerId,
        CHAOS_PREFIX: prefix,
        NODE_NO_WARNINGS: '1',
        ...(options.requestTimeoutMs === undefined
          ? {}
          : { CHAOS_REQUEST_TIMEOUT_MS: String(options.requestTimeoutMs) }),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buffer = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) onLine(line);
    });
    children.set(workerId, child);
    child.on('exit', () => children.delete(workerId));
  };

  for (let i = 0; i < count; i++) launch();
  const started = Date.now();
  let kills = 0;
  let pauses = 0;
  let freezes = 0;
  const faults: { fault: string; at: number }[] = [];
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const jitter = (ms: number) => ms * (0.85 + Math.random() * 0.3);
  // Each kind of fault on its own timeline; whichever is due next happens next.
  const due = {
    kill: started + jitter(killEveryMs),
    pause: options.pauseEveryMs ? started + jitter(options.pauseEveryMs) : Infinity,
    freeze: options.freeze ? started + jitter(options.freeze.everyMs) : Infinity,
  };
  for (;;) {
    const [kind, at] = Object.entries(due).sort((a, b) => a[1] - b[1])[0]! as [keyof typeof due, number];
    if (at - started >= durationMs) break;
    await pause(Math.max(0, at - Date.now()));
    const current = leader && children.get(leader.workerId);
    if (kind === 'kill') {
      due.kill = Date.now() + jitter(killEveryMs);
      if (!current) continue;
      log(`SIGKILL leader ${leader!.workerId} (epoch ${leader!.epoch})`);
      faults.push({ fault: `kill ${leader!.workerId}`, at: Date.now() });
      current.kill('SIGKILL');
      children.delete(leader!.workerId);
      kills++;
      launch();
    } else if (kind === 'pause') {
      due.pause = Date.now() + jitter(options.pauseEveryMs!);
      if (!current) continue;
      const pauseMs = options.pauseMs ?? 10_000;
      log(`SIGSTOP leader ${leader!.workerId} (epoch ${leader!.epoch}) for ${pauseMs} ms`);
      faults.push({ fault: `pause ${leader!.workerId}`, at: Date.now() });
      current.kill('SIGSTOP');
      pauses++;
      setTimeout(() => current.kill('SIGCONT'), pauseMs);
    } else {
      const freeze = options.freeze!;
      due.freeze = Date.now() + jitter(freeze.everyMs);
      const pid = freeze.pid();
      log(`SIGSTOP radosgw (pid ${pid}) for ${freeze.durationMs} ms`);
      process.kill(pid, 'SIGSTOP');
      freezes++;
      try {
        await pause(freeze.durationMs);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      log('SIGCONT radosgw');
      faults.push({ fault: `freeze ${freeze.durationMs} ms`, at: Date.now() });
    }
  }
  // A last stretch without faults: the cluster must have a leader again by itself.
  await pause(Math.min(20_000, killEveryMs));
  const failovers = faults.map(({ fault, at }) => {
    const next = promotions.find((promotedAt) => promotedAt >= at);
    return { fault, ms: next === undefined ? null : next - at };
  });
  const highest = Math.max(0, ...epochs);
  const liveLeaderAtEnd =
    leader !== undefined && !leader.demoted && leader.epoch === highest && children.has(leader.workerId);
  const stopAt = Date.now();
  await Promise.all(
    [...children.values()].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
        }),
    ),
  );

  const history = new HistoryStore({
    store: new PrefixedStore(backend, `${prefix}${DEFAULT_LAYOUT.prefix}`),
  });
  const result: ChaosResult = {
    prefix,
    durationMs: stopAt - started,
    kills,
    pauses,
    freezes,
    epochs,
    failovers,
    liveLeaderAtEnd,
    unavailableErrors,
    jobs: {},
    errors,
  };
  for (const [job, schedule] of Object.entries(CHAOS_JOBS)) {
    const page = await history.query(job, { limit: 1000 });
    const bySlot = new Map(page.runs.filter((run) => run.slot !== null).map((run) => [run.slot!, run]));
    const slots = [...bySlot.keys()].sort();
    const first = Date.parse(slots[0] ?? new Date(stopAt).toISOString());
    const cron = parseCron(schedule);
    const missed: string[] = [];
    let expected = 0;
    let claimed = 0;
    let executed = 0;
    for (let at = first; at <= stopAt - 10_000; at = cron.next(at)!.getTime()) {
      expected++;
      const slot = new Date(at).toISOString();
      if (!bySlot.has(slot)) missed.push(slot);
      else claimed++;
      if (executions.has(`${job}|${slot}`)) executed++;
    }
    const statuses: Record<string, number> = {};
    for (const run of bySlot.values()) statuses[run.status] = (statuses[run.status] ?? 0) + 1;
    const duplicated = [...executions]
      .filter(([key, workers]) => key.startsWith(`${job}|`) && workers.length > 1)
      .map(([key, workers]) => `${key.slice(job.length + 1)} by ${workers.join(', ')}`);
    result.jobs[job] = {
      from: new Date(first).toISOString(),
      to: new Date(stopAt - 10_000).toISOString(),
      expected,
      claimed,
      executed,
      missed,
      duplicated,
      statuses,
      // For a missed slot, the records of the slots around it: who claimed them, in which term, how.
      around: missed.flatMap((slot) =>
        page.runs
          .filter((run) => run.slot !== null && Math.abs(Date.parse(run.slot) - Date.parse(slot)) <= 15_000)
          .map(
            (run) =>
              `${run.slot} ${run.status} ${run.trigger} by ${run.workerId} epoch ${run.epoch} started ${run.startedAt}`,
          )
          .sort(),
      ),
    };
  }
  return result;
}
