import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isSchedulerError } from '@s3-scheduler/core';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECRET, startTestCluster, type TestCluster } from './cluster.test-helpers.js';
import { runDashboardCommand } from './command.js';
import { createDashboardHandler, type DashboardOptions } from './handler.js';
import type { JobView, RunView } from './source.js';

let cluster: TestCluster;
const servers: Server[] = [];
/** Every body any test received: none may contain the secret. */
const bodies: string[] = [];

beforeAll(async () => {
  cluster = await startTestCluster();
});

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
  await cluster?.stop();
});

async function serve(options: Omit<DashboardOptions, 'plugin' | 'source'>): Promise<string> {
  const handler = createDashboardHandler({ source: cluster.source, ...options });
  const server = createServer((req, res) => handler(req, res));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function call(url: string, init?: RequestInit) {
  const response = await fetch(url, { redirect: 'manual', ...init });
  const text = await response.text();
  bodies.push(text, JSON.stringify([...response.headers]));
  const json = (response.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : undefined;
  return { status: response.status, text, json, headers: response.headers };
}

const postJson = (body: unknown = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

describe('dashboard handler on node:http under a base path', () => {
  let base: string;
  beforeAll(async () => {
    base = `${await serve({ basePath: '/ops/scheduler' })}/ops/scheduler`;
  });

  it('redirects the bare base path and serves the page with its base and assets', async () => {
    const bare = await call(base);
    expect(bare.status).toBe(308);
    expect(bare.headers.get('location')).toBe('/ops/scheduler/');
    const page = await call(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<base href="/ops/scheduler/">');
    expect(page.text).toContain('data-read-only="true"');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const script = await call(`${base}/assets/app.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toContain('javascript');
    expect((await call(`${base}/assets/../handler.js`)).status).toBe(404);
    expect((await call(`${base}/assets/index.html`)).status).toBe(404);
  });

  it('shows the leader, the epoch, the live workers and the hand-overs', async () => {
    const { json } = await call(`${base}/api/cluster`);
    expect(json.leader).toBe('worker-1');
    expect(json.epoch).toBe(2);
    expect(json.workers).toEqual(['worker-1', 'worker-2']);
    expect(json.self).toBe('worker-1');
    expect(json.readOnly).toBe(true);
    expect(json.handOvers).toMatchObject([
      { epoch: 2, workerId: 'worker-1', previousWorkerId: 'worker-0' },
      { epoch: 1, workerId: 'worker-0', previousWorkerId: null },
    ]);
    expect(json.handOvers[0].at > json.handOvers[1].at).toBe(true);
  });

  it('lists jobs with the schedule in words, zone, next runs, last status, success rate and pause note', async () => {
    const { json } = await call(`${base}/api/jobs`);
    const jobs = new Map<string, JobView & { scheduleText: string }>(
      json.jobs.map((job: JobView) => [job.name, job]),
    );
    expect([...jobs.keys()]).toEqual(['cleanup', 'minutely-sync', 'nightly-report', 'on-demand-export']);
    const sync = jobs.get('minutely-sync')!;
    expect(sync.scheduleText).toBe('Every minute');
    expect(sync.nextRuns).toHaveLength(3);
    expect(sync.totalRuns).toBe(12);
    // Minutes 1–12 ran; minutes 3, 7 and 11 failed.
    expect(sync.successRate).toBe(75);
    expect(sync.lastRun?.status).toBe('completed');
    const nightly = jobs.get('nightly-report')!;
    expect(nightly.timezone).toBe('Europe/Berlin');
    expect(nightly.scheduleText).toBe('At 03:00');
    const cleanup = jobs.get('cleanup')!;
    expect(cleanup.paused).toBe(true);
    expect(cleanup.pausedNote).toBe('Waiting for the storage migration');
    expect(cleanup.nextRuns).toEqual([]);
    const manual = jobs.get('on-demand-export')!;
    expect(manual.scheduleText).toBe('On demand only');
    expect(manual.lastRun?.status).toBe('completed');
  });

  it('filters history by status and pages it without overlap', async () => {
    const failed = await call(`${base}/api/jobs/minutely-sync/history?status=failed`);
    expect(failed.json.runs.map((run: RunView) => run.status)).toEqual(['failed', 'failed', 'failed']);
    const seen: string[] = [];
    let cursor = '';
    for (let page = 0; page < 10; page++) {
      const { json } = await call(
        `${base}/api/jobs/minutely-sync/history?limit=5${cursor ? `&cursor=${cursor}` : ''}`,
      );
      seen.push(...json.runs.map((run: RunView) => run.slot));
      if (!json.nextCursor) break;
      cursor = encodeURIComponent(json.nextCursor);
    }
    expect(seen).toHaveLength(12);
    expect([...seen].sort().reverse()).toEqual(seen);
    expect(new Set(seen).size).toBe(12);
    expect((await call(`${base}/api/jobs/minutely-sync/history?status=bogus`)).status).toBe(400);
    expect((await call(`${base}/api/jobs/no-such-job/history`)).status).toBe(404);
  });

  it('details a run: attempts, error, duration, instance, epoch and lateness', async () => {
    const { json } = await call(`${base}/api/jobs/minutely-sync/history?status=failed&limit=1`);
    const listed = json.runs[0] as RunView;
    const { json: run } = await call(
      `${base}/api/jobs/minutely-sync/runs/${listed.runId}?at=${encodeURIComponent(listed.slot!)}`,
    );
    expect(run.runId).toBe(listed.runId);
    expect(run.status).toBe('failed');
    expect(run.attempts).toBe(1);
    expect(run.workerId).toBe('worker-0');
    expect(run.epoch).toBe(1);
    expect(run.durationMs).toBeGreaterThanOrEqual(500);
    expect(run.latenessMs).toBe(Date.parse(run.startedAt) - Date.parse(run.slot));
    expect(run.error.message).toContain('upstream returned 503');
    // Found without the hint too, and a missing run is a 404.
    expect((await call(`${base}/api/jobs/minutely-sync/runs/${listed.runId}`)).json.runId).toBe(listed.runId);
    expect((await call(`${base}/api/jobs/minutely-sync/runs/01NOPE`)).status).toBe(404);
  });

  it('refuses every action while read-only (the default)', async () => {
    for (const action of ['pause', 'resume', 'trigger', 'backfill']) {
      const response = await call(`${base}/api/jobs/nightly-report/${action}`, postJson());
      expect(response.status).toBe(403);
      expect(response.json.error.code).toBe('READ_ONLY');
    }
    expect(cluster.plugin.getJobStatus('nightly-report')?.paused).toBe(false);
  });
});

describe('reading the bucket itself (store option, the read model)', () => {
  let base: string;
  beforeAll(async () => {
    const handler = createDashboardHandler({
      store: cluster.store,
      keyPrefix: 'plugin=scheduler/',
      readOnly: false,
      clock: cluster.clock,
    });
    const server = createServer((req, res) => handler(req, res));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  it('shows the same leader, workers, jobs, history and runs as the plugin sees', async () => {
    const { json: state } = await call(`${base}/api/cluster`);
    expect(state).toMatchObject({
      leader: 'worker-1',
      epoch: 2,
      workers: ['worker-1', 'worker-2'],
      self: null,
    });
    // The first read finds worker-1 leading: no hand-over was seen yet (read-model-source.test.ts).
    expect(state.handOvers).toEqual([]);
    const { json } = await call(`${base}/api/jobs`);
    const jobs = new Map<string, JobView>(json.jobs.map((job: JobView) => [job.name, job]));
    expect([...jobs.keys()]).toEqual(['cleanup', 'minutely-sync', 'nightly-report', 'on-demand-export']);
    expect(jobs.get('minutely-sync')).toMatchObject({
      successRate: 75,
      totalRuns: 12,
      schedule: '* * * * *',
    });
    expect(jobs.get('cleanup')).toMatchObject({
      paused: true,
      pausedNote: 'Waiting for the storage migration',
    });
    expect(jobs.get('nightly-report')?.nextRuns).toHaveLength(3);
    const failed = await call(`${base}/api/jobs/minutely-sync/history?status=failed`);
    expect(failed.json.runs.map((run: RunView) => run.status)).toEqual(['failed', 'failed', 'failed']);
    const seen: string[] = [];
    let cursor = '';
    for (let page = 0; page < 10; page++) {
      const { json: history } = await call(
        `${base}/api/jobs/minutely-sync/history?limit=5${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      seen.push(...history.runs.map((run: RunView) => run.runId));
      if (!history.nextCursor) break;
      cursor = history.nextCursor;
    }
    expect(new Set(seen).size).toBe(12);
    const listed = failed.json.runs[0] as RunView;
    const { json: run } = await call(`${base}/api/jobs/minutely-sync/runs/${listed.runId}?at=${listed.slot}`);
    expect(run).toMatchObject({ runId: listed.runId, status: 'failed', workerId: 'worker-0', epoch: 1 });
    expect((await call(`${base}/api/jobs/ghost/history`)).status).toBe(404);
  });

  it('pauses and resumes through the job documents, and leaves trigger requests for the leader', async () => {
    expect(
      (await call(`${base}/api/jobs/nightly-report/pause`, postJson({ note: 'From the bucket' }))).status,
    ).toBe(200);
    const paused = (await call(`${base}/api/jobs`)).json.jobs.find(
      (job: JobView) => job.name === 'nightly-report',
    );
    expect(paused).toMatchObject({ paused: true, pausedNote: 'From the bucket', nextRuns: [] });
    expect((await call(`${base}/api/jobs/nightly-report/resume`, postJson())).status).toBe(200);
    const resumed = (await call(`${base}/api/jobs`)).json.jobs.find(
      (job: JobView) => job.name === 'nightly-report',
    );
    expect(resumed).toMatchObject({ paused: false, pausedNote: null });

    const before = (await call(`${base}/api/jobs/on-demand-export/history`)).json.runs.length;
    const triggered = await call(`${base}/api/jobs/on-demand-export/trigger`, postJson());
    expect(triggered.status).toBe(200);
    expect(triggered.json.requestId).toEqual(expect.any(String));
    // The leader serves requests at its heartbeat (5 s here).
    await cluster.clock.advance(5_000);
    const after = (await call(`${base}/api/jobs/on-demand-export/history`)).json.runs as RunView[];
    expect(after).toHaveLength(before + 1);
    expect(after[0]).toMatchObject({ status: 'completed', workerId: 'worker-1' });
    expect((await call(`${base}/api/jobs/ghost/trigger`, postJson())).status).toBe(404);
  });
});

describe('dashboard actions when not read-only', () => {
  let base: string;
  beforeAll(async () => {
    base = await serve({ readOnly: false });
  });

  it('pauses with a note, resumes, triggers and backfills', async () => {
    const paused = await call(`${base}/api/jobs/nightly-report/pause`, postJson({ note: 'Quarter close' }));
    expect(paused.status).toBe(200);
    expect(cluster.plugin.getJobStatus('nightly-report')?.pausedNote).toBe('Quarter close');
    expect((await call(`${base}/api/jobs/nightly-report/resume`, postJson())).status).toBe(200);
    expect(cluster.plugin.getJobStatus('nightly-report')?.paused).toBe(false);
    const triggered = await call(`${base}/api/jobs/on-demand-export/trigger`, postJson());
    expect(triggered.json.message).toMatch(/^completed in \d+ ms$/);
    const backfill = await call(
      `${base}/api/jobs/cleanup/backfill`,
      postJson({ from: '2026-03-02T06:00:00Z', to: '2026-03-02T06:30:00Z' }),
    );
    expect(backfill.json.message).toBe('3 slots, 3 ran, 0 had run already');
  });

  it('rejects a non-JSON post, a bad body and an unknown job', async () => {
    const form = await call(`${base}/api/jobs/nightly-report/pause`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'note=x',
    });
    expect(form.status).toBe(415);
    const array = await call(`${base}/api/jobs/nightly-report/pause`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '[1]',
    });
    expect(array.status).toBe(400);
    const backfill = await call(`${base}/api/jobs/cleanup/backfill`, postJson({ from: 1 }));
    expect(backfill.status).toBe(400);
    const unknown = await call(`${base}/api/jobs/ghost/pause`, postJson());
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe('JOB_NOT_FOUND');
    expect((await call(`${base}/api/jobs/nightly-report/explode`, postJson())).status).toBe(404);
    expect((await call(`${base}/api/cluster`, { method: 'DELETE' })).status).toBe(405);
  });
});

describe('the auth hook', () => {
  it('answers 401 to every request it does not allow, and lets allowed ones through', async () => {
    const seen: string[] = [];
    const base = await serve({
      readOnly: false,
      auth: async (req) => {
        seen.push(req.url ?? '');
        return req.headers.authorization === 'Bearer let-me-in';
      },
    });
    for (const path of [
      '/',
      '/assets/app.js',
      '/api/cluster',
      '/api/jobs',
      '/api/jobs/minutely-sync/history',
    ]) {
      const denied = await call(`${base}${path}`);
      expect(denied.status).toBe(401);
      expect(denied.text).not.toContain('worker-');
    }
    const pause = await call(`${base}/api/jobs/nightly-report/pause`, postJson());
    expect(pause.status).toBe(401);
    expect(cluster.plugin.getJobStatus('nightly-report')?.paused).toBe(false);
    const allowed = await call(`${base}/api/cluster`, { headers: { authorization: 'Bearer let-me-in' } });
    expect(allowed.status).toBe(200);
    expect(seen).toContain('/api/cluster');
  });

  it('denies when the hook throws or answers something other than true', async () => {
    const throwing = await serve({
      auth: () => {
        throw new Error('auth backend down');
      },
    });
    expect((await call(`${throwing}/api/cluster`)).status).toBe(401);
    const truthy = await serve({ auth: (() => 'yes') as unknown as () => boolean });
    expect((await call(`${truthy}/api/cluster`)).status).toBe(401);
  });
});

describe('mounted in Express', () => {
  it('serves under app.use(basePath) with the same API', async () => {
    const app = express();
    app.use('/admin/jobs', createDashboardHandler({ plugin: cluster.plugin, basePath: '/admin/jobs' }));
    app.get('/', (_req, res) => {
      res.send('app home');
    });
    const server = createServer(app);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const root = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const page = await call(`${root}/admin/jobs/`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<base href="/admin/jobs/">');
    expect((await call(`${root}/admin/jobs/api/cluster`)).json.leader).toBe('worker-1');
    expect((await call(`${root}/`)).text).toBe('app home');
  });
});

describe('runDashboardCommand', () => {
  it('listens on the port, serves the dashboard and closes', async () => {
    const running = await runDashboardCommand({ plugin: cluster.plugin, port: 0, basePath: '/dash' });
    expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/dash\/$/);
    expect((await call(`${running.url}api/cluster`)).json.leader).toBe('worker-1');
    await running.close();
    await expect(fetch(`${running.url}api/cluster`)).rejects.toThrow();
  });

  it('refuses a bad port and bad handler options with INVALID_OPTION', async () => {
    for (const options of [
      { plugin: cluster.plugin, port: 70_000 },
      { plugin: cluster.plugin, port: 1.5 },
      { port: 0 },
      { plugin: cluster.plugin, readOnly: 'no' as unknown as boolean, port: 0 },
      { plugin: cluster.plugin, basePath: 'no-slash/<x>', port: 0 },
      { plugin: cluster.plugin, refreshInterval: 10, port: 0 },
    ]) {
      const error = await runDashboardCommand(options).catch((caught: unknown) => caught);
      expect(isSchedulerError(error) && error.code).toBe('INVALID_OPTION');
    }
  });
});

describe('credentials', () => {
  it('appear in no answer: pages, assets, API, errors and headers', async () => {
    const base = await serve({ readOnly: false });
    const { json } = await call(`${base}/api/jobs/minutely-sync/history?limit=100`);
    for (const run of json.runs as RunView[]) {
      await call(
        `${base}/api/jobs/minutely-sync/runs/${run.runId}?at=${encodeURIComponent(run.slot ?? run.startedAt)}`,
      );
    }
    for (const path of ['/', '/assets/app.js', '/assets/style.css', '/api/cluster', '/api/jobs', '/nope']) {
      await call(`${base}${path}`);
    }
    await call(`${base}/api/jobs/minutely-sync/history?cursor=not-a-date`);
    // The failed runs' errors held the secret in a URL: the answer shows it redacted.
    expect(bodies.join('\n')).toContain('upstream returned 503');
    expect(bodies.length).toBeGreaterThan(50);
    for (const body of bodies) expect(body).not.toContain(SECRET);
  });
});

describe('odd requests and failures', () => {
  it('answers 404 for a path such as //, 400 for a bad limit, and logs a 500 with secrets masked', async () => {
    const logged: Error[] = [];
    const failing = {
      ...cluster.source,
      jobs: async () => {
        throw new Error('connect ECONNREFUSED s3://AKIA:verysecret@bucket');
      },
    };
    const handler = createDashboardHandler({ source: failing, onError: (error) => logged.push(error) });
    const server = createServer((req, res) => handler(req, res));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const raw = (path: string) =>
      new Promise<number>((resolve, reject) => {
        get({ host: '127.0.0.1', port, path }, (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        }).on('error', reject);
      });
    expect(await raw('//')).toBe(404);
    expect(await raw('//api/jobs')).toBe(404);
    const job = (await call(`http://127.0.0.1:${port}/api/cluster`)).json;
    expect(job).toBeDefined();
    for (const limit of ['0', 'abc', '-3']) {
      const answer = await call(`http://127.0.0.1:${port}/api/jobs/minutely-sync/history?limit=${limit}`);
      expect(answer.status).toBe(400);
      expect(answer.json.error.code).toBe('INVALID_OPTION');
    }
    expect(logged).toEqual([]);
    const broken = await call(`http://127.0.0.1:${port}/api/jobs`);
    expect(broken.status).toBe(500);
    expect(logged).toHaveLength(1);
    expect(logged[0]!.message).toContain('ECONNREFUSED');
    expect(logged[0]!.message).not.toContain('verysecret');
  });
});
