import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runChaos } from './run-chaos.js';

/**
 * `pnpm --filter @s3-scheduler/simulation chaos:freeze`: the multi-process chaos run with every
 * fault at once, on an S3 server of its own: kills and pauses (SIGSTOP) of the leader, and
 * freezes (SIGSTOP/SIGCONT) of the server's radosgw. Starts its own Ceph RGW with
 * `scripts/s3-server.sh` (never the shared one: freezing that would stall everyone), runs the
 * chaos, stops the server, prints the result as JSON and exits 1 unless no slot was missed or
 * run twice and a live leader was left.
 *
 * Environment: CHAOS_DURATION_MS (default 120000), CHAOS_S3_PORT (7590), CHAOS_S3_MON_PORT
 * (3390), CHAOS_S3_DIR (/tmp/s3-scheduler-chaos-rgw), CHAOS_FREEZE_MS (12000).
 */
const script = fileURLToPath(new URL('../../../../scripts/s3-server.sh', import.meta.url));
const dir = process.env.CHAOS_S3_DIR ?? '/tmp/s3-scheduler-chaos-rgw';
const serverEnv = {
  ...process.env,
  S3_SERVER_DIR: dir,
  S3_PORT: process.env.CHAOS_S3_PORT ?? '7590',
  S3_MON_PORT: process.env.CHAOS_S3_MON_PORT ?? '3390',
};
const durationMs = Number(process.env.CHAOS_DURATION_MS ?? 120_000);
// 12 s: well past a request's whole retry budget (6 attempts of 1 s plus back-off), so every
// freeze shows as STORE_UNAVAILABLE errors (with 8 s one CI run on 2026-12-01 saw none: the
// requests in flight outlived the freeze by their last retry).
const freezeMs = Number(process.env.CHAOS_FREEZE_MS ?? 12_000);
const log = (line: string) => console.error(`[chaos:freeze] ${new Date().toISOString()} ${line}`);

const server = (command: 'start' | 'stop') =>
  execFileSync('bash', [script, command], {
    env: serverEnv,
    stdio: ['ignore', 'pipe', 'inherit'],
  }).toString();

let failed = true;
try {
  for (const line of server('start').split('\n')) {
    const match = /^export (S3_[A-Z_]+)=(.*)$/.exec(line);
    if (match) process.env[match[1]!] = match[2]!;
  }
  log(`own S3 server at ${process.env.S3_ENDPOINT} (state in ${dir})`);
  const rgwPid = () => Number(readFileSync(`${dir}/rgw.pid`, 'utf8').trim());
  const result = await runChaos({
    durationMs,
    processes: 4,
    killEveryMs: 25_000,
    pauseEveryMs: 30_000,
    pauseMs: 10_000,
    freeze: { pid: rgwPid, everyMs: 35_000, durationMs: freezeMs },
    // A freeze outlasts a request's attempts (6 × 1 s plus back-off), so it shows as
    // STORE_UNAVAILABLE errors while it lasts.
    requestTimeoutMs: 1_000,
    log,
  });
  const missed = Object.values(result.jobs).reduce((sum, job) => sum + job.missed.length, 0);
  const duplicated = Object.values(result.jobs).reduce((sum, job) => sum + job.duplicated.length, 0);
  const running = Object.values(result.jobs).reduce((sum, job) => sum + (job.statuses.running ?? 0), 0);
  console.log(JSON.stringify({ missed, duplicated, running, ...result }, null, 2));
  const problems = [
    missed > 0 && `${missed} slot(s) missed`,
    duplicated > 0 && `${duplicated} slot(s) executed twice`,
    running > 0 && `${running} run(s) left running`,
    !result.liveLeaderAtEnd && 'no live leader at the end',
    result.freezes === 0 && 'the server was never frozen',
    result.kills === 0 && 'no leader was killed',
    result.unavailableErrors === 0 && 'no STORE_UNAVAILABLE error was reported while the server was frozen',
  ].filter(Boolean);
  if (problems.length > 0) log(`FAILED: ${problems.join('; ')}`);
  else log('ok: 0 missed, 0 duplicated, a live leader at the end');
  failed = problems.length > 0;
} finally {
  try {
    server('stop');
  } catch (error) {
    log(`could not stop the S3 server: ${String(error)}`);
    failed = true;
  }
}
process.exitCode = failed ? 1 : 0;
