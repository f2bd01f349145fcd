import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PrefixedStore, ResolvingStore } from '@s3-scheduler/storage';
import {
  GatedStore,
  RealStoreStepper,
  s3TestBackend,
  s3TestEnv,
  uniqueTestPrefix,
} from '@s3-scheduler/storage/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from './exit-codes.js';
import { MINUTE, TestCluster } from './test-support/cluster.js';

// The real bin, spawned, against the real S3 server, while a cluster of plugins runs in this
// process on a manual clock driven by `RealStoreStepper` (time moves once the server answered).
// Skipped without S3_ENDPOINT; a failure on CI.
const env = s3TestEnv();
const backend = await s3TestBackend();
const prefix = `${uniqueTestPrefix()}cli/`;
const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

/** The connection string the operator would use: the same bucket and prefix as the app. */
function connectionString(): string {
  const e = env!;
  const credentials = e.accessKeyId ? `${e.accessKeyId}:${e.secretAccessKey}@` : '';
  const query = new URLSearchParams({ endpoint: e.endpoint, region: e.region, forcePathStyle: 'true' });
  return `s3://${credentials}${e.bucket}/${prefix.replace(/\/$/, '')}?${query}`;
}

describe.runIf(backend)('s3-scheduler bin against real S3 while a cluster runs', () => {
  const shared = backend
    ? new PrefixedStore(new ResolvingStore(backend, { initialBackoffMs: 20 }), prefix)
    : undefined;
  const gates: GatedStore[] = [];
  // Wall-clock start, so the bin (on the system clock) and the cluster agree on next runs.
  const cluster = new TestCluster(shared, Math.ceil(Date.now() / MINUTE) * MINUTE + 30_000);
  const time = new RealStoreStepper(cluster.clock, () => gates, 1_000);
  cluster.advance = (ms) => time.advance(ms);
  cluster.wrapStore = (store) => {
    const gate = new GatedStore(store);
    gates.push(gate);
    return gate;
  };

  /** Spawns the bin and moves the cluster's time until it exits. */
  async function bin(...args: string[]) {
    expect(existsSync(BIN), `build the package first: ${BIN}`).toBe(true);
    const child = spawn(process.execPath, [BIN, '--key-prefix', 'plugin=scheduler/', ...args], {
      env: { ...process.env, S3_SCHEDULER_STORE: connectionString(), NO_COLOR: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    const code = await time.drive(exited, 30 * MINUTE);
    // The secret never shows, whatever the command printed.
    if (env?.secretAccessKey) expect(stdout + stderr).not.toContain(env.secretAccessKey);
    return { code, stdout, stderr, json: args.includes('--json') && stdout ? JSON.parse(stdout) : undefined };
  }

  afterAll(async () => {
    await cluster.stop();
  });

  it('status matches the cluster; pause and resume act cluster-wide; trigger runs once on the leader', async () => {
    cluster.add('worker-0');
    cluster.add('worker-1');
    await time.drive(Promise.all(cluster.plugins.map((plugin) => plugin.start())));
    await cluster.until(() => cluster.leader() !== undefined);
    await cluster.advance(2 * MINUTE);
    const leader = cluster.leader()!;

    const status = await bin('status', '--json');
    expect(status.code).toBe(EXIT_CODES.OK);
    expect(status.json.leader.workerId).toBe(leader.workerId);
    expect(status.json.epoch).toBe(leader.getEpoch());
    expect(status.json.workers.map((worker: { workerId: string }) => worker.workerId)).toEqual([
      'worker-0',
      'worker-1',
    ]);
    expect(status.json.jobs.map((job: { name: string }) => job.name).sort()).toEqual([
      'adhoc',
      'minutely',
      'nightly',
    ]);
    expect(status.json.jobs.find((job: { name: string }) => job.name === 'minutely').lastRun.status).toBe(
      'completed',
    );

    // watch, not a TTY: one plain snapshot of the same cluster.
    const watched = await bin('watch', '--once');
    expect(watched.code).toBe(EXIT_CODES.OK);
    const frame = watched.stdout.trimEnd().split('\n');
    expect(frame.length).toBeLessThanOrEqual(24);
    expect(frame.find((line) => line.startsWith('LEADER'))).toContain(
      `${leader.workerId} leads, epoch ${leader.getEpoch()}`,
    );
    expect(frame.some((line) => line.startsWith('  nightly') && line.includes('Europe/Paris'))).toBe(true);
    expect(frame.some((line) => line.includes('minutely') && line.includes('completed'))).toBe(true);
    expect(watched.stdout).not.toContain('\x1b[');

    expect((await bin('pause', 'minutely', '--note', 'from the bin')).code).toBe(EXIT_CODES.OK);
    await cluster.until(() => cluster.plugins.every((plugin) => plugin.getJobStatus('minutely')!.paused));
    const ran = cluster.executions.length;
    await cluster.advance(2 * MINUTE);
    expect(cluster.executions.length).toBe(ran);
    expect((await bin('resume', 'minutely')).code).toBe(EXIT_CODES.OK);
    await cluster.until(() => cluster.plugins.every((plugin) => !plugin.getJobStatus('minutely')!.paused));

    const triggered = await bin('trigger', 'adhoc', '--json');
    expect(triggered.code).toBe(EXIT_CODES.OK);
    expect(cluster.executions.filter((run) => run.job === 'adhoc')).toEqual([
      { job: 'adhoc', slot: null, trigger: 'manual', workerId: triggered.json.request.workerId },
    ]);
    expect(triggered.json.request.workerId).toBe(cluster.leader()!.workerId);
    expect((await bin('trigger', 'nope')).code).toBe(EXIT_CODES.NOT_FOUND);
  });

  it('backfill runs exactly the missing slots; a request survives a leader change', async () => {
    await cluster.advance(MINUTE);
    const paused = cluster.executions
      .filter((run) => run.job === 'minutely')
      .map((run) => Date.parse(run.slot!));
    const from = new Date(Math.min(...paused)).toISOString();
    const to = new Date(cluster.clock.now() - MINUTE).toISOString();
    const ranBefore = new Set(cluster.executions.map((run) => run.slot));
    const backfill = await bin('backfill', 'minutely', '--from', from, '--to', to, '--json');
    expect(backfill.code).toBe(EXIT_CODES.OK);
    const backfilled = cluster.executions.filter((run) => run.trigger === 'backfill').map((run) => run.slot);
    expect(backfilled.length).toBeGreaterThanOrEqual(1); // the slots of the pause
    expect(backfilled.some((slot) => ranBefore.has(slot))).toBe(false);
    expect(backfill.json.request.backfill.ran).toBe(backfilled.length);

    const first = cluster.leader()!;
    const written = await bin('trigger', 'adhoc', '--no-wait', '--json');
    expect(written.code).toBe(EXIT_CODES.OK);
    await cluster.stop([first]);
    await cluster.until(
      () => cluster.executions.filter((run) => run.job === 'adhoc').length === 2,
      5 * MINUTE,
    );
    const status = await bin('status', '--json');
    expect(status.json.leader.workerId).not.toBe(first.workerId);
    expect(cluster.executions.filter((run) => run.job === 'adhoc')).toHaveLength(2);
  });
});
