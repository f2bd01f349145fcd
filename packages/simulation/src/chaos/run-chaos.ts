import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseCron } from '@s3-scheduler/cron';
import { HistoryStore } from '@s3-scheduler/history';
import { PrefixedStore } from '@s3-scheduler/storage';
import { s3TestBackend, uniqueTestPrefix } from '@s3-scheduler/storage/testing';
import { CHAOS_JOBS, type ChaosLine } from './protocol.js';

export interface ChaosOptions {
  /** Wall time of the chaos phase. Default 150 s. */
  durationMs?: number;
  /** The leader is killed about this often (±15 %). Default 20 s. */
  killEveryMs?: number;
  processes?: number;
  log?: (line: string) => void;
}

export interface ChaosResult {
  prefix: string;
  durationMs: number;
  kills: number;
  epochs: number[];
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
  let leader: { workerId: string; epoch: number } | undefined;
  let errors = 0;
  let next = 0;

  const onLine = (raw: string) => {
    let line: ChaosLine;
    try {
      line = JSON.parse(raw) as ChaosLine;
    } catch {
      return;
    }
    if (line.type === 'leader') {
      epochs.push(line.epoch);
      if (!leader || line.epoch > leader.epoch) leader = { workerId: line.workerId, epoch: line.epoch };
      log(`leader ${line.workerId} epoch ${line.epoch}`);
    } else if (line.type === 'exec' && line.slot) {
      const key = `${line.job}|${line.slot}`;
      executions.set(key, [...(executions.get(key) ?? []), line.workerId]);
    } else if (line.type === 'error') {
      errors++;
    }
  };
  const launch = () => {
    const workerId = `chaos-${String(next++).padStart(2, '0')}`;
    const child = spawn(process.execPath, [WORKER], {
      env: { ...process.env, CHAOS_WORKER_ID: workerId, CHAOS_PREFIX: prefix, NODE_NO_WARNINGS: '1' },
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
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  while (Date.now() - started < durationMs) {
    await pause(killEveryMs * (0.85 + Math.random() * 0.3));
    if (Date.now() - started >= durationMs) break;
    const victim = leader && children.get(leader.workerId);
    if (!victim) continue;
    log(`SIGKILL leader ${leader!.workerId} (epoch ${leader!.epoch})`);
    victim.kill('SIGKILL');
    children.delete(leader!.workerId);
    kills++;
    launch();
  }
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

  const history = new HistoryStore({ store: new PrefixedStore(backend, `${prefix}plugin=scheduler/`) });
  const result: ChaosResult = {
    prefix,
    durationMs: stopAt - started,
    kills,
    epochs,
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
    };
  }
  return result;
}
