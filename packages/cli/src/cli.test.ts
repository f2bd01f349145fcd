import { readRequest } from '@s3-scheduler/plugin';
import { PrefixedStore } from '@s3-scheduler/storage';
import { CountingStore } from '@s3-scheduler/storage/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';
import { EXIT_CODES } from './exit-codes.js';
import { MINUTE, START, TestCluster } from './test-support/cluster.js';
import { visible } from './view/frame.js';

let cluster: TestCluster | undefined;

afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

async function started(size: number): Promise<TestCluster> {
  cluster = new TestCluster();
  for (let i = 0; i < size; i++) cluster.add(`worker-${i}`);
  await Promise.all(cluster.plugins.map((plugin) => plugin.start()));
  await cluster.until(() => cluster!.leader() !== undefined);
  await cluster.advance(6_000); // a heartbeat: the leader publishes the job catalog
  return cluster;
}

describe('s3-scheduler (command layer, embedded store)', () => {
  it('status matches the cluster: leader, epoch, live workers, jobs, next runs, last status', async () => {
    const c = await started(3);
    await c.advance(2 * MINUTE);
    const leader = c.leader()!;
    const { code, json } = await c.cli('status', '--json');
    expect(code).toBe(EXIT_CODES.OK);
    expect(json.leader.workerId).toBe(leader.workerId);
    expect(json.epoch).toBe(leader.getEpoch());
    expect(json.alive).toBe(true);
    expect(
      json.workers.filter((w: { alive: boolean }) => w.alive).map((w: { workerId: string }) => w.workerId),
    ).toEqual(['worker-0', 'worker-1', 'worker-2']);
    const minutely = json.jobs.find((job: { name: string }) => job.name === 'minutely');
    expect(minutely.nextRuns[0].fireAt).toBe(leader.getJobStatus('minutely')!.nextRun);
    expect(minutely.lastRun.status).toBe('completed');
    const nightly = json.jobs.find((job: { name: string }) => job.name === 'nightly');
    expect(nightly.timezone).toBe('Europe/Paris');
    expect(nightly.nextRuns[0].fireAt).toBe(leader.getJobStatus('nightly')!.nextRun);
    const human = await c.cli('status');
    expect(human.stdout).toContain(leader.workerId);
    expect(human.stdout).toContain('Europe/Paris');
    expect(human.stdout).not.toContain('\x1b['); // not a TTY: no colours
  });

  it('jobs, describe and history lay out what the bucket holds', async () => {
    const c = await started(2);
    await c.advance(3 * MINUTE);
    const jobs = await c.cli('jobs', '--json');
    expect(jobs.json.jobs.map((job: { name: string }) => job.name)).toEqual(['adhoc', 'minutely', 'nightly']);
    const described = await c.cli('describe', 'minutely', '--json');
    expect(described.code).toBe(0);
    expect(described.json.description).toBe('every minute');
    expect(described.json.nextRuns).toHaveLength(5);
    expect(described.json.statistics.job).toBe('minutely');
    const history = await c.cli('history', 'minutely', '--limit', '2', '--status', 'success', '--json');
    expect(history.json.runs).toHaveLength(2);
    expect(history.json.runs.every((run: { status: string }) => run.status === 'completed')).toBe(true);
    expect(history.json.cursor).toEqual(expect.any(String));
    const newest = Date.parse(history.json.runs[0].slot);
    const before = await c.cli('history', 'minutely', '--before', new Date(newest).toISOString(), '--json');
    expect(before.json.runs.every((run: { slot: string }) => Date.parse(run.slot) < newest)).toBe(true);
    expect((await c.cli('describe', 'minutely')).stdout).toContain('Next runs');
    const missing = await c.cli('describe', 'nope');
    expect(missing.code).toBe(EXIT_CODES.NOT_FOUND);
    expect(missing.stderr).toContain('JOB_NOT_FOUND');
  });

  it('pause and resume take effect cluster-wide', async () => {
    const c = await started(3);
    const paused = await c.cli('pause', 'minutely', '--note', 'db migration');
    expect(paused.code).toBe(0);
    await c.until(() => c.plugins.every((plugin) => plugin.getJobStatus('minutely')!.paused));
    const ran = c.executions.length;
    await c.advance(3 * MINUTE);
    expect(c.executions.length).toBe(ran);
    const status = await c.cli('status', '--json');
    expect(status.json.jobs.find((job: { name: string }) => job.name === 'minutely')).toMatchObject({
      paused: true,
      pausedNote: 'db migration',
    });
    // The tables say why it does not run.
    expect((await c.cli('status')).stdout).toContain('paused: db migration');
    expect((await c.cli('jobs')).stdout).toContain('paused: db migration');
    expect((await c.cli('resume', 'minutely')).code).toBe(0);
    await c.until(() => c.plugins.every((plugin) => !plugin.getJobStatus('minutely')!.paused));
    await c.advance(2 * MINUTE);
    expect(c.executions.length).toBeGreaterThan(ran);
    expect((await c.cli('pause', 'nope')).code).toBe(EXIT_CODES.NOT_FOUND);
  });

  it('trigger runs the job exactly once, on the leader, recorded as manual, and cleans its request up', async () => {
    const c = await started(3);
    const leader = c.leader()!;
    const { code, json } = await c.cli('trigger', 'adhoc', '--json');
    expect(code).toBe(EXIT_CODES.OK);
    expect(json.request).toMatchObject({ state: 'done', workerId: leader.workerId, kind: 'trigger' });
    expect(c.executions).toEqual([
      { job: 'adhoc', slot: null, trigger: 'manual', workerId: leader.workerId },
    ]);
    const history = await c.cli('history', 'adhoc', '--json');
    expect(history.json.runs.map((run: { id: string; trigger: string }) => [run.id, run.trigger])).toEqual([
      [json.request.run.runId, 'manual'],
    ]);
    const requests = new PrefixedStore(c.bucket, 'plugin=scheduler/');
    expect(await readRequest(requests, json.request.id)).toBeNull();
    expect((await c.cli('trigger', 'nope')).code).toBe(EXIT_CODES.NOT_FOUND);
  });

  it('backfill runs exactly the missing slots', async () => {
    const c = await started(2);
    await c.advance(2 * MINUTE);
    await c.cli('pause', 'minutely');
    await c.until(() => c.plugins.every((plugin) => plugin.getJobStatus('minutely')!.paused));
    await c.advance(4 * MINUTE);
    await c.cli('resume', 'minutely');
    await c.until(() => c.plugins.every((plugin) => !plugin.getJobStatus('minutely')!.paused));
    await c.advance(MINUTE);
    const ranBefore = new Set(c.executions.map((run) => run.slot));
    const from = new Date(START).toISOString();
    const to = new Date(c.clock.now() - MINUTE).toISOString();
    const { code, json } = await c.cli('backfill', 'minutely', '--from', from, '--to', to, '--json');
    expect(code).toBe(EXIT_CODES.OK);
    const backfilled = c.executions.filter((run) => run.trigger === 'backfill').map((run) => run.slot);
    expect(backfilled.length).toBeGreaterThanOrEqual(3);
    expect(backfilled.some((slot) => ranBefore.has(slot))).toBe(false);
    expect(json.request.backfill.ran).toBe(backfilled.length);
    expect(json.request.backfill.alreadyRan + json.request.backfill.ran).toBe(json.request.backfill.slots);
    const perSlot = new Map<string, number>();
    for (const run of c.executions) if (run.slot) perSlot.set(run.slot, (perSlot.get(run.slot) ?? 0) + 1);
    expect([...perSlot.values()].every((count) => count === 1)).toBe(true);
    // Again: nothing left to run.
    const again = await c.cli('backfill', 'minutely', '--from', from, '--to', to, '--json');
    expect(again.json.request.backfill.ran).toBe(0);
    expect((await c.cli('backfill', 'minutely', '--from', to, '--to', from)).code).toBe(EXIT_CODES.USAGE);
    // A manual-only job: refused from the catalog, nothing written for the leader.
    const requests = new PrefixedStore(c.bucket, 'plugin=scheduler/');
    const before = (await requests.list('requests/')).objects.length;
    const manual = await c.cli('backfill', 'adhoc', '--from', from, '--to', to);
    expect(manual.code).toBe(EXIT_CODES.USAGE);
    expect(manual.stderr).toContain(
      'Cannot backfill adhoc: it has no cron schedule (manual only) [INVALID_OPTION]',
    );
    expect(manual.stderr).toContain('s3-scheduler trigger adhoc');
    const manualJson = await c.cli('backfill', 'adhoc', '--from', from, '--to', to, '--json');
    expect(manualJson.code).toBe(EXIT_CODES.USAGE);
    expect(manualJson.json.error).toMatchObject({ code: 'INVALID_OPTION', metadata: { jobName: 'adhoc' } });
    expect((await requests.list('requests/')).objects).toHaveLength(before);
    expect(c.executions.filter((run) => run.job === 'adhoc')).toHaveLength(0);
  });

  it('with no instance alive, trigger says so; the request survives and the next leader serves it', async () => {
    const c = await started(1);
    await c.stop();
    const status = await c.cli('status', '--json');
    expect(status.json.alive).toBe(false);
    const refused = await c.cli('trigger', 'adhoc', '--json');
    expect(refused.code).toBe(EXIT_CODES.NO_INSTANCE);
    expect(refused.json.error.message).toContain('No instance is alive');
    const id = refused.json.request.id;
    const next = c.add('worker-9');
    await next.start();
    const requests = new PrefixedStore(c.bucket, 'plugin=scheduler/');
    await c.until(async () => (await readRequest(requests, id))?.request.state === 'done');
    expect(c.executions).toEqual([{ job: 'adhoc', slot: null, trigger: 'manual', workerId: 'worker-9' }]);
  });

  it('a request survives a leader change: written, then the leader stops before serving it', async () => {
    const c = await started(2);
    const first = c.leader()!;
    const written = await c.cli('trigger', 'adhoc', '--no-wait', '--json');
    expect(written.code).toBe(0);
    await c.stop([first]); // no heartbeat of the old leader in between: its successor serves it
    const requests = new PrefixedStore(c.bucket, 'plugin=scheduler/');
    await c.until(
      async () => (await readRequest(requests, written.json.request.id))?.request.state === 'done',
    );
    const served = (await readRequest(requests, written.json.request.id))!.request;
    expect(c.executions.filter((run) => run.trigger === 'manual')).toHaveLength(1);
    expect(c.executions[0]!.workerId).toBe(served.workerId);
  });

  it('usage: --help everywhere, bad input exits 2, watch refreshes', async () => {
    const c = await started(1);
    for (const command of [
      'status',
      'jobs',
      'describe',
      'history',
      'pause',
      'resume',
      'trigger',
      'backfill',
      'watch',
      'dashboard',
    ]) {
      const help = await c.cli(command, '--help');
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`Usage: s3-scheduler ${command}`);
    }
    expect((await c.cli('nonsense')).code).toBe(EXIT_CODES.USAGE);
    expect((await c.cli('history', 'minutely', '--limit', '0')).code).toBe(EXIT_CODES.USAGE);
    expect((await c.cli('backfill', 'minutely', '--from', 'yesterday', '--to', 'now')).code).toBe(
      EXIT_CODES.USAGE,
    );
    const reversed = await c.cli(
      'backfill',
      'minutely',
      '--from',
      '2026-03-01T02:00:00Z',
      '--to',
      '2026-03-01T01:00:00Z',
    );
    expect(reversed.code).toBe(EXIT_CODES.USAGE);
    expect(reversed.stderr).toContain('is before --from');
    const watched = await c.cli('watch', '--iterations', '2', '--interval', '1', '--json');
    expect(watched.code).toBe(0);
    expect(watched.stdout.trim().split('\n')).toHaveLength(2);
  });
});

describe('watch: the live view, from the bucket', () => {
  it('not a TTY: --once prints one plain 80×24 snapshot of the cluster', async () => {
    const c = await started(3);
    await c.advance(2 * MINUTE);
    const leader = c.leader()!;
    const { code, stdout } = await c.cli('watch', '--once');
    expect(code).toBe(EXIT_CODES.OK);
    expect(stdout).not.toContain('\x1b[');
    const lines = stdout.trimEnd().split('\n');
    expect(lines.length).toBeLessThanOrEqual(24);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(79);
    expect(lines[0]).toMatch(/^s3-scheduler watch {3}\d\d:\d\d:\d\d UTC · 0s$/);
    expect(lines.find((line) => line.startsWith('LEADER'))).toContain(
      `${leader.workerId} leads, epoch ${leader.getEpoch()}`,
    );
    for (const id of ['worker-0', 'worker-1', 'worker-2'])
      expect(lines.some((line) => line.startsWith(`  ${id}`))).toBe(true);
    const nightly = lines.find((line) => line.startsWith('  nightly'))!;
    expect(nightly).toContain('Europe/Paris');
    expect(nightly).toContain(leader.getJobStatus('nightly')!.nextRun!.slice(11, 19));
    expect(lines.some((line) => line.includes('minutely') && line.includes('completed'))).toBe(true);
    expect(lines.some((line) => line.includes(`watching: ${leader.workerId} leads`))).toBe(true);
    // Two refreshes: two snapshots, a blank line after each.
    const twice = await c.cli('watch', '--iterations', '2', '--interval', '1');
    expect(twice.stdout.split('\n\n').filter((frame) => frame.startsWith('s3-scheduler watch'))).toHaveLength(
      2,
    );
  });

  it('a TTY: the frame is redrawn in place within the terminal, the screen given back on Ctrl-C', async () => {
    const c = await started(2);
    await c.advance(MINUTE);
    const controller = new AbortController();
    const writes: string[] = [];
    let frames = 0;
    const exit = runCli(['--key-prefix', 'plugin=scheduler/', 'watch', '--interval', '1'], {
      stdout: {
        isTTY: true,
        columns: 80,
        rows: 24,
        write: (text: string) => {
          writes.push(text);
          if (text.startsWith('\x1b[H')) frames++;
        },
      },
      stderr: { write: () => undefined },
      env: {},
      store: c.bucket,
      clock: c.clock,
      signal: controller.signal,
    });
    await c.until(() => frames >= 2);
    const leader = c.leader()!;
    const epoch = leader.getEpoch();
    await c.stop([leader]); // a graceful hand-over, seen by the next refreshes
    await c.until(() => writes.some((text) => text.includes('(was ')));
    controller.abort(); // what Ctrl-C does in the bin
    expect(await exit).toBe(EXIT_CODES.OK);
    expect(writes[0]).toBe('\x1b[?1049h\x1b[?25l'); // the alternate screen, no cursor
    const redraws = writes.filter((text) => text.startsWith('\x1b[H'));
    for (const redraw of redraws) {
      const lines = redraw.split('\n');
      expect(lines.length).toBeLessThanOrEqual(24);
      for (const line of lines) expect(visible(line).length).toBeLessThanOrEqual(79);
    }
    const last = visible(redraws.at(-1)!);
    expect(last).toContain(`(was ${leader.workerId}, epoch ${epoch})`);
    // The screen and cursor are given back, and the last picture stays above the prompt.
    const end = writes.indexOf('\x1b[?25h\x1b[?1049l');
    expect(end).toBe(writes.length - 2);
    expect(writes.at(-1)).toContain('s3-scheduler watch');
  });
});

describe('watch on a TTY with NO_COLOR', () => {
  it('redraws in place without a colour code', async () => {
    const c = await started(1);
    let output = '';
    const code = await runCli(['--key-prefix', 'plugin=scheduler/', 'watch', '--once'], {
      stdout: { isTTY: true, columns: 100, rows: 30, write: (text: string) => (output += text) },
      stderr: { write: () => undefined },
      env: { NO_COLOR: '1' },
      store: c.bucket,
      clock: c.clock,
    });
    expect(code).toBe(EXIT_CODES.OK);
    expect(output).toContain('\x1b[H'); // drawn in place
    expect(output).toContain('LEADER  worker-0 leads');
    // Cursor and screen codes only: no SGR (colour, bold) code at all.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for ANSI colour codes
    expect(output).not.toMatch(/\x1b\[[0-9;]*m/);
  });
});

describe('dashboard', () => {
  it('serves the cluster read-only until the signal ends it', async () => {
    const c = await started(2);
    const controller = new AbortController();
    let stdout = '';
    let listening!: () => void;
    const ready = new Promise<void>((resolve) => {
      listening = resolve;
    });
    const exit = runCli(['--key-prefix', 'plugin=scheduler/', 'dashboard', '--port', '0', '--json'], {
      stdout: {
        write: (text: string) => {
          stdout += text;
          listening();
        },
      },
      stderr: { write: () => undefined },
      env: {},
      store: c.bucket,
      clock: c.clock,
      signal: controller.signal,
    });
    await ready;
    const { url, readOnly } = JSON.parse(stdout) as { url: string; readOnly: boolean };
    expect(readOnly).toBe(true);
    const cluster = (await (await fetch(`${url}api/cluster`)).json()) as { leader?: { id?: string } };
    const leader = c.plugins.find((plugin) => plugin.isLeader())!;
    expect(JSON.stringify(cluster)).toContain(leader.workerId);
    const refused = await fetch(`${url}api/jobs/minutely/pause`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(refused.status).toBe(403);
    controller.abort();
    expect(await exit).toBe(EXIT_CODES.OK);
  });
});

describe('request costs of each command (CountingStore)', () => {
  it('are bounded and independent of history', async () => {
    const c = await started(2);
    await c.advance(30 * MINUTE);
    const counting = new CountingStore(c.bucket);
    c.cliStore = counting;
    const costs: Record<string, number> = {};
    const measure = async (...argv: string[]) => {
      counting.reset();
      const { code } = await c.cli(...argv, '--json');
      expect(code).toBe(0);
      costs[argv.join(' ')] = counting.total;
    };
    await measure('status');
    await measure('jobs');
    await measure('describe', 'minutely');
    await measure('history', 'minutely', '--limit', '20');
    await measure('history', 'minutely', '--limit', '20', '--status', 'completed');
    await measure('pause', 'minutely');
    await measure('resume', 'minutely');
    await measure('watch', '--once');
    console.log(`CLI request costs (3 jobs, 2 workers, 30 min of history): ${JSON.stringify(costs)}`);
    // 1 lease + 1 workers list + 1 catalog + 1 jobs list + 1 active list + 3 jobs × (1 list + ≤ 2 gets).
    expect(costs.status).toBeLessThanOrEqual(14);
    expect(costs['history minutely --limit 20']).toBeLessThanOrEqual(3 + 21);
    // status reading the 4 newest runs of each shown job (the view's latest runs).
    expect(costs['watch --once']).toBeLessThanOrEqual(5 + 3 * (1 + 4));
  });
});

describe('connection', () => {
  it('a malformed connection string exits 6 and never echoes its secret', async () => {
    let output = '';
    const io = {
      stdout: { write: (text: string) => (output += text) },
      stderr: { write: (text: string) => (output += text) },
      env: { S3_SCHEDULER_STORE: 's3://AKIAEXAMPLE:supersecret-value@/no-bucket?region=' },
    };
    expect(await runCli(['status'], io)).toBe(EXIT_CODES.STORE);
    expect(await runCli(['status', '--json'], io)).toBe(EXIT_CODES.STORE);
    expect(output).toContain('INVALID_CONNECTION_STRING');
    expect(output).not.toContain('supersecret-value');
    let missing = '';
    const none = {
      stdout: { write: () => true },
      stderr: { write: (text: string) => (missing += text) },
      env: {},
    };
    expect(await runCli(['jobs'], none)).toBe(EXIT_CODES.STORE);
    expect(missing).toContain('S3_SCHEDULER_STORE');
  });
});
