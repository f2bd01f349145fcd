/**
 * The examples of the Scheduler Plugin document (shared/reference/scheduler-plugin-spec.md),
 * each copied with nothing changed but the import, run on the embedded store and a manual
 * clock. Where an example needs an ORM database (`db.resources…`), a small stand-in host
 * provides exactly what the example touches; `SchedulerPlugin` never knows the difference.
 */
import { ManualClock } from '@s3-scheduler/core/testing';
import { MemoryStore } from '@s3-scheduler/storage';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SchedulerError, SchedulerPlugin } from './index.js';

const START = Date.parse('2026-03-01T00:30:00Z');
let clock: ManualClock;
const started: SchedulerPlugin[] = [];

/** The spec constructs plugins with only `jobs`; the test adds where they run (and stops them). */
function harness(plugin: SchedulerPlugin): SchedulerPlugin {
  started.push(plugin);
  return plugin;
}

function options() {
  clock = new ManualClock({ now: START });
  return { store: new MemoryStore(), clock, skipColdStart: true, logger: null } as const;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((plugin) => plugin.stop()));
  vi.restoreAllMocks();
});

/** A stand-in for the s3db `Database` of the quick start: resources and `usePlugin`. */
function fakeDatabase() {
  const rows = [
    { id: 's1', userId: 'u1', expiresAt: START - 1000, active: true },
    { id: 's2', userId: 'u2', expiresAt: START + 3_600_000, active: true },
  ];
  const sessions = {
    async query(filter: { expiresAt: { $lt: number }; active: boolean }) {
      return rows.filter((row) => row.expiresAt < filter.expiresAt.$lt && row.active === filter.active);
    },
    async update(id: string, changes: Partial<(typeof rows)[number]>) {
      Object.assign(rows.find((row) => row.id === id)!, changes);
    },
    async count() {
      return rows.length;
    },
  };
  const db = {
    resources: { sessions },
    plugins: {} as Record<string, SchedulerPlugin>,
    async usePlugin(plugin: SchedulerPlugin) {
      await plugin.install(db);
      db.plugins.scheduler = plugin;
      await plugin.start();
    },
  };
  return { db, rows };
}

// Each example simulates hours to days on the manual clock: 1–5 s each alone, up to 10 s on a
// loaded 2-core machine; the default 5 s timeout was too close.
describe('the spec examples', () => {
  it('Quick Start: the two jobs, usePlugin, events and a manual run', async () => {
    const { db, rows } = fakeDatabase();
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    // ── from the spec ──
    const schedulerPlugin = new SchedulerPlugin({
      ...options(),
      jobs: {
        // Clean up expired sessions every hour
        cleanup_sessions: {
          schedule: '0 * * * *', // Every hour at minute 0
          action: async (db) => {
            const now = clock.now();
            const sessions = (db as ReturnType<typeof fakeDatabase>['db']).resources.sessions;

            // Find expired sessions
            const expired = await sessions.query({
              expiresAt: { $lt: now },
              active: true,
            });

            console.log(`Found ${expired.length} expired sessions to clean up`);

            // Mark as inactive
            for (const session of expired) {
              await sessions.update(session.id, { active: false });
            }

            return { cleaned: expired.length };
          },
          retries: 3,
          timeout: 30000, // 30 seconds
        },

        // Daily report at 8am
        daily_report: {
          schedule: '0 8 * * *', // Every day at 8am
          timezone: 'America/New_York',
          action: async (db) => {
            const sessions = (db as ReturnType<typeof fakeDatabase>['db']).resources.sessions;
            const count = await sessions.count();

            console.log(`Daily Report: ${count} total sessions`);

            return { totalSessions: count };
          },
        },
      },
    });
    harness(schedulerPlugin);

    await db.usePlugin(schedulerPlugin);
    await schedulerPlugin.start();

    const completed: Array<{ jobName: string; result: unknown }> = [];
    schedulerPlugin.on('jobStarted', ({ jobName, scheduledTime }) => {
      console.log(`Job ${jobName} started at ${new Date(scheduledTime)}`);
    });
    schedulerPlugin.on('jobCompleted', ({ jobName, result, duration }) => {
      completed.push({ jobName, result });
      console.log(`Job ${jobName} completed in ${duration}ms:`, result);
    });
    schedulerPlugin.on('jobFailed', ({ jobName, error, attempts }) => {
      console.error(`Job ${jobName} failed (attempt ${attempts}):`, error.message);
    });

    await schedulerPlugin.runJob('cleanup_sessions');
    // ── end of the spec's code ──
    expect(completed).toEqual([{ jobName: 'cleanup_sessions', result: { cleaned: 1 } }]);
    expect(rows[0]!.active).toBe(false);
    expect(log).toHaveBeenCalledWith('Found 1 expired sessions to clean up');

    // 01:00 UTC: the hourly cleanup runs on schedule.
    await clock.advanceTo(Date.parse('2026-03-01T01:00:00Z'));
    expect(completed.at(-1)).toEqual({ jobName: 'cleanup_sessions', result: { cleaned: 0 } });
    // 08:00 in New York is 13:00 UTC in March 2026 (EST, before the switch on the 8th).
    await clock.advanceTo(Date.parse('2026-03-01T12:59:59Z'));
    expect(completed.some((run) => run.jobName === 'daily_report')).toBe(false);
    await clock.advanceTo(Date.parse('2026-03-01T13:00:00Z'));
    expect(completed.find((run) => run.jobName === 'daily_report')?.result).toEqual({ totalSessions: 2 });
    expect(schedulerPlugin.getJobStatus('daily_report')!.nextRun).toBe('2026-03-02T13:00:00.000Z');
  });

  it('Retry behaviour: retries: 3 is 4 attempts with 1 s, 2 s, 4 s between them; retries: 0 is one', async () => {
    const attempts: Record<string, number[]> = { three: [], zero: [] };
    const plugin = harness(
      new SchedulerPlugin({
        ...options(),
        jobs: {
          three: {
            schedule: '0 * * * *',
            retries: 3, // 4 total attempts (1 initial + 3 retries)
            action: async () => {
              attempts.three!.push(clock.now());
              throw new Error('always');
            },
          },
          zero: {
            schedule: '0 * * * *',
            retries: 0, // 1 total attempt (no retries)
            action: async () => {
              attempts.zero!.push(clock.now());
              throw new Error('always');
            },
          },
        },
      }),
    );
    await plugin.start();
    await clock.advanceTo(Date.parse('2026-03-01T01:00:10Z'));
    const slot = Date.parse('2026-03-01T01:00:00Z');
    expect(attempts.three!.map((at) => at - slot)).toEqual([0, 1000, 3000, 7000]);
    expect(attempts.zero!.map((at) => at - slot)).toEqual([0]);
    const [record] = await plugin.getJobHistory('three');
    expect(record).toMatchObject({ status: 'failed', attempts: 4, retryCount: 3, error: 'always' });
  });

  it('Retry with exponential backoff: a SchedulerError with retriable: false is not retried', async () => {
    let calls = 0;
    const plugin = harness(
      new SchedulerPlugin({
        ...options(),
        jobs: {
          external_api_sync: {
            schedule: '@hourly',
            retries: 5, // Will try 6 times total (1 + 5 retries)
            action: async () => {
              calls++;
              const response = {
                ok: false,
                status: calls === 1 ? 503 : 400,
                url: 'https://api.example.com/data',
              };
              if (!response.ok) {
                throw new SchedulerError('External API returned non-2xx response', {
                  statusCode: response.status,
                  retriable: response.status >= 500,
                  suggestion:
                    response.status >= 500
                      ? 'Allow the scheduler retry loop to continue after backoff.'
                      : 'Fix the request payload or credentials before retrying manually.',
                  metadata: { endpoint: response.url },
                });
              }
              return response;
            },
          },
        },
      }),
    );
    const retries: number[] = [];
    // Monitor retries
    plugin.on('plg:scheduler:job-retry', (data) => {
      retries.push(data.attempt);
    });
    const run = plugin.runJob('external_api_sync');
    await clock.advance(5_000);
    const outcome = await run;
    // The 503 was retried once; the 400 that followed is permanent.
    expect(calls).toBe(2);
    expect(retries).toEqual([2]);
    expect(outcome).toMatchObject({ status: 'failed', attempts: 2 });
  });

  it('Job Timeout: the attempt is aborted, job-timeout fires, and the handler can double the timeout', async () => {
    const signals: AbortSignal[] = [];
    const schedulerPlugin = harness(
      new SchedulerPlugin({
        ...options(),
        jobs: {
          quick_job: {
            schedule: '@hourly',
            timeout: 30000, // 30 seconds for quick jobs
            action: async (_db, context) => {
              signals.push(context.signal);
              await clock.sleep(45_000, context.signal);
            },
          },
        },
      }),
    );
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    // Monitor timeouts (the spec's handler uses `await`, so it is declared async here).
    schedulerPlugin.on('plg:scheduler:job-timeout', async (data) => {
      console.warn(`Job ${data.jobName} timed out after ${data.timeout}ms`);

      // Increase timeout for this job
      await schedulerPlugin.updateJob(data.jobName, {
        timeout: data.timeout * 2, // Double the timeout
      });
    });
    await schedulerPlugin.start();
    await clock.advanceTo(Date.parse('2026-03-01T01:00:31Z'));
    expect(signals[0]!.aborted).toBe(true);
    expect(warn).toHaveBeenCalledWith('Job quick_job timed out after 30000ms');
    const [record] = await schedulerPlugin.getJobHistory('quick_job');
    expect(record!.status).toBe('timeout');
    // With 60 s now, the next slot's 45 s action completes.
    await clock.advanceTo(Date.parse('2026-03-01T02:01:00Z'));
    const history = await schedulerPlugin.getJobHistory('quick_job');
    expect(history.map((entry) => entry.status)).toEqual(['completed', 'timeout']);
  });

  it('Event System: lifecycle and scheduler events', async () => {
    const scheduler = harness(
      new SchedulerPlugin({
        ...options(),
        jobs: {
          flaky: {
            schedule: null,
            retries: 1,
            action: async (_db, ctx) => {
              if (ctx.attempt === 1) throw new Error('first attempt fails');
              return 'ok';
            },
          },
          broken: {
            schedule: null,
            action: async () => {
              throw new Error('broken');
            },
          },
        },
      }),
    );
    const lines: string[] = [];
    const console = { log: (line: string) => lines.push(line), error: (line: string) => lines.push(line) };
    // ── from the spec ──
    // Job lifecycle events
    scheduler.on('plg:scheduler:job-started', (data) => {
      console.log(`Job ${data.jobName} started`);
    });

    scheduler.on('plg:scheduler:job-completed', (data) => {
      console.log(`Job ${data.jobName} completed in ${data.duration}ms`);
    });

    scheduler.on('plg:scheduler:job-failed', (data) => {
      console.error(`Job ${data.jobName} failed: ${data.error}`);
    });

    scheduler.on('plg:scheduler:job-retry', (data) => {
      console.log(`Job ${data.jobName} retry attempt ${data.attempt}`);
    });

    // Scheduler events
    scheduler.on('scheduler_started', () => {
      console.log('Scheduler started');
    });

    scheduler.on('scheduler_stopped', () => {
      console.log('Scheduler stopped');
    });
    // ── end of the spec's code ──
    await scheduler.start();
    const flaky = scheduler.runJob('flaky');
    await clock.advance(1_000);
    await flaky;
    await scheduler.runJob('broken');
    await scheduler.stop();
    expect(lines).toEqual([
      'Scheduler started',
      'Job flaky started',
      'Job flaky retry attempt 2',
      'Job flaky started',
      'Job flaky completed in 1000ms',
      'Job broken started',
      'Job broken failed: Error: broken',
      'Scheduler stopped',
    ]);
  });

  it('Dynamic Job Management: the JobManager class', async () => {
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    // ── from the spec ──
    // Job management class for dynamic scheduling
    class JobManager {
      scheduler: SchedulerPlugin;
      constructor(schedulerPlugin: SchedulerPlugin) {
        this.scheduler = schedulerPlugin;
        this.setupEventHandlers();
      }

      setupEventHandlers() {
        this.scheduler.on('plg:scheduler:job-started', (data) => {
          console.log(`🚀 Job started: ${data.jobName} at ${data.startTime}`);
        });

        this.scheduler.on('plg:scheduler:job-completed', (data) => {
          console.log(`✅ Job completed: ${data.jobName} in ${data.duration}ms`);
        });

        this.scheduler.on('plg:scheduler:job-failed', (data) => {
          console.error(`❌ Job failed: ${data.jobName} - ${data.error}`);
        });

        this.scheduler.on('plg:scheduler:job-retry', (data) => {
          console.warn(`🔄 Job retry: ${data.jobName} (attempt ${data.attempt})`);
        });
      }

      // Add job dynamically
      async addJob(jobName: string, jobConfig: Parameters<SchedulerPlugin['addJob']>[1]) {
        await this.scheduler.addJob(jobName, jobConfig);
        console.log(`➕ Added job: ${jobName}`);
      }

      // Remove job
      async removeJob(jobName: string) {
        await this.scheduler.removeJob(jobName);
        console.log(`➖ Removed job: ${jobName}`);
      }

      // Update job schedule
      async updateJobSchedule(jobName: string, newSchedule: string) {
        await this.scheduler.updateJob(jobName, { schedule: newSchedule });
        console.log(`📅 Updated schedule for ${jobName}: ${newSchedule}`);
      }

      // Enable/disable job
      async toggleJob(jobName: string, enabled: boolean) {
        await this.scheduler.updateJob(jobName, { enabled });
        console.log(`${enabled ? '▶️' : '⏸️'} ${enabled ? 'Enabled' : 'Disabled'} job: ${jobName}`);
      }

      // Get job execution history
      async getJobHistory(jobName: string, limit = 10) {
        return await this.scheduler.getJobHistory(jobName, { limit });
      }

      // Get job statistics
      async getJobStats(jobName: string) {
        const history = await this.getJobHistory(jobName, 100);

        const stats: Record<string, unknown> = {
          total_executions: history.length,
          successful: history.filter((h) => h.status === 'completed').length,
          failed: history.filter((h) => h.status === 'failed').length,
          avg_duration: 0,
          last_execution: history[0]?.started_at,
        };

        const completedJobs = history.filter((h) => h.status === 'completed' && h.duration);
        if (completedJobs.length > 0) {
          stats.avg_duration =
            completedJobs.reduce((sum, job) => sum + job.duration!, 0) / completedJobs.length;
        }

        stats.success_rate =
          (stats.total_executions as number) > 0
            ? `${(((stats.successful as number) / (stats.total_executions as number)) * 100).toFixed(2)}%`
            : 'N/A';

        return stats;
      }

      // Health check for all jobs
      async healthCheck() {
        const jobs = await this.scheduler.listJobs();
        const healthReport = {
          timestamp: new Date(clock.now()).toISOString(),
          total_jobs: jobs.length,
          enabled_jobs: jobs.filter((j) => j.enabled).length,
          job_status: {} as Record<string, unknown>,
        };

        for (const job of jobs) {
          const stats = await this.getJobStats(job.name);
          healthReport.job_status[job.name] = {
            enabled: job.enabled,
            last_execution: stats.last_execution,
            success_rate: stats.success_rate,
            health:
              stats.success_rate === 'N/A'
                ? 'unknown'
                : Number.parseFloat(stats.success_rate as string) >= 95
                  ? 'healthy'
                  : Number.parseFloat(stats.success_rate as string) >= 80
                    ? 'warning'
                    : 'unhealthy',
          };
        }

        return healthReport;
      }
    }
    // ── end of the spec's code (typed for TypeScript) ──
    const scheduler = harness(new SchedulerPlugin({ ...options() }));
    await scheduler.start();
    const jobManager = new JobManager(scheduler);
    await jobManager.addJob('custom_backup', {
      schedule: '0 4 * * *', // Daily at 4 AM
      description: 'Custom backup job',
      action: async () => {
        await clock.sleep(250);
        return { backup_completed: true };
      },
    });
    await clock.advanceTo(Date.parse('2026-03-02T04:00:01Z'));
    await jobManager.updateJobSchedule('custom_backup', '0 5 * * *');
    await clock.advanceTo(Date.parse('2026-03-03T05:00:01Z'));
    const stats = await jobManager.getJobStats('custom_backup');
    expect(stats).toMatchObject({
      total_executions: 4,
      successful: 4,
      failed: 0,
      avg_duration: 250,
      success_rate: '100.00%',
    });
    expect(stats.last_execution).toBe('2026-03-03T05:00:00.000Z');
    await jobManager.toggleJob('custom_backup', false);
    const health = await jobManager.healthCheck();
    expect(health).toMatchObject({
      total_jobs: 1,
      enabled_jobs: 0,
      job_status: { custom_backup: { enabled: false, success_rate: '100.00%', health: 'healthy' } },
    });
    await jobManager.removeJob('custom_backup');
    expect(await scheduler.listJobs()).toEqual([]);
  });

  it('Job Chains and Dependencies: the JobChainManager class', async () => {
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const order: string[] = [];
    // ── from the spec ──
    // Job manager with dependency support
    class JobChainManager {
      scheduler: SchedulerPlugin;
      jobChains: Map<string, Array<{ name: string; config: Record<string, unknown> }>>;
      constructor(scheduler: SchedulerPlugin) {
        this.scheduler = scheduler;
        this.jobChains = new Map();
      }

      // Define job chain with dependencies
      defineChain(chainName: string, jobs: Array<{ name: string; config: Record<string, unknown> }>) {
        this.jobChains.set(chainName, jobs);

        // Set up dependent jobs
        jobs.forEach((job, index) => {
          if (index === 0) {
            // First job runs on schedule
            this.scheduler.addJob(job.name, job.config as never);
          } else {
            // Subsequent jobs run when previous completes
            const prevJob = jobs[index - 1]!;

            this.scheduler.on('plg:scheduler:job-completed', async (data) => {
              if (data.jobName === prevJob.name) {
                console.log(`Running dependent job: ${job.name}`);
                await this.scheduler.runJob(job.name);
              }
            });

            // Add job but disable scheduling (run only via dependency)
            this.scheduler.addJob(job.name, {
              ...job.config,
              schedule: null, // Disable automatic scheduling
              enabled: true,
            } as never);
          }
        });
      }

      // Run entire chain
      async runChain(chainName: string) {
        const chain = this.jobChains.get(chainName);
        if (!chain) {
          throw new SchedulerError(`Chain ${chainName} not found`, {
            statusCode: 404,
            retriable: false,
            suggestion: 'Define the chain via defineChain() before invoking runChain.',
            operation: 'runChain',
            metadata: { chainName, availableChains: Array.from(this.jobChains.keys()) },
          });
        }

        // Run first job, others will follow via dependencies
        await this.scheduler.runJob(chain[0]!.name);
      }
    }

    // Usage
    const scheduler = harness(new SchedulerPlugin({ ...options() }));
    const chainManager = new JobChainManager(scheduler);

    chainManager.defineChain('daily_processing', [
      {
        name: 'extract_data',
        config: {
          schedule: '0 1 * * *',
          description: 'Extract data from external sources',
          action: async () => {
            order.push('extract');
            return { extracted_records: 1000 };
          },
        },
      },
      {
        name: 'transform_data',
        config: {
          description: 'Transform extracted data',
          action: async () => {
            order.push('transform');
            return { transformed_records: 950 };
          },
        },
      },
      {
        name: 'load_data',
        config: {
          description: 'Load transformed data',
          action: async () => {
            order.push('load');
            return { loaded_records: 950 };
          },
        },
      },
    ]);
    // ── end of the spec's code ──
    await scheduler.start();
    await chainManager.runChain('daily_processing');
    await clock.settle();
    expect(order).toEqual(['extract', 'transform', 'load']);
    // On schedule at 01:00 the whole chain runs again.
    await clock.advanceTo(Date.parse('2026-03-01T01:00:00Z'));
    expect(order).toEqual(['extract', 'transform', 'load', 'extract', 'transform', 'load']);
    await expect(chainManager.runChain('nope')).rejects.toMatchObject({
      name: 'SchedulerError',
      statusCode: 404,
      retriable: false,
      operation: 'runChain',
    });
  });

  it('Circuit Breaker Pattern: a failing job disables itself after 5 failures', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const alerts: Array<{ subject: string }> = [];
    const sendAlert = async (alert: { subject: string; body: string }) => void alerts.push(alert);
    let runs = 0;
    const schedulerPlugin = harness(
      new SchedulerPlugin({
        ...options(),
        jobs: {
          unstable: {
            schedule: '* * * * *',
            action: async () => {
              runs++;
              throw new Error('down');
            },
          },
        },
      }),
    );
    // ── from the spec ──
    const failureCounts = new Map();
    const MAX_FAILURES = 5;

    schedulerPlugin.on('plg:scheduler:job-failed', async (data) => {
      const count = (failureCounts.get(data.jobName) || 0) + 1;
      failureCounts.set(data.jobName, count);

      if (count >= MAX_FAILURES) {
        console.error(`Disabling ${data.jobName} after ${count} failures`);
        schedulerPlugin.disableJob(data.jobName);

        // Alert operations team
        await sendAlert({
          subject: `Job ${data.jobName} disabled due to failures`,
          body: `Job has failed ${count} times and has been disabled.`,
        });
      }
    });

    // Reset counter on success
    schedulerPlugin.on('plg:scheduler:job-completed', (data) => {
      failureCounts.delete(data.jobName);
    });
    // ── end of the spec's code ──
    await schedulerPlugin.start();
    await clock.advance(10 * 60_000);
    expect(runs).toBe(5);
    expect(schedulerPlugin.getJobStatus('unstable')!.enabled).toBe(false);
    expect(alerts.map((alert) => alert.subject)).toEqual(['Job unstable disabled due to failures']);
  });

  it('FAQ, Monitoring & History and Troubleshooting: every field the examples read', async () => {
    const lines: string[] = [];
    const console = { log: (line: string) => lines.push(line) };
    let calls = 0;
    const schedulerPlugin = harness(
      new SchedulerPlugin({
        ...options(),
        jobs: {
          cleanup: {
            schedule: '0 * * * *',
            action: async () => {
              calls++;
              await clock.sleep(calls * 1000);
              if (calls === 2) throw new Error('disk full');
              return { deleted: calls };
            },
          },
        },
      }),
    );
    // ── from the spec (Troubleshooting, before start; `!` added for TypeScript) ──
    // 1. Job is enabled / 3. Next run time
    expect(schedulerPlugin.getJobStatus('cleanup')!.enabled === true).toBe(true);
    expect(schedulerPlugin.getJobStatus('cleanup')!.nextRun).toBe('2026-03-01T01:00:00.000Z');
    // ── end ──
    await schedulerPlugin.start();
    await clock.advanceTo(Date.parse('2026-03-01T04:00:05Z'));

    // ── from the spec (FAQ: How to get job status?) ──
    const status = schedulerPlugin.getJobStatus('cleanup');
    // Returns: name, enabled, schedule, lastRun, nextRun, isRunning, statistics
    // ── end ──
    expect(status).toMatchObject({
      name: 'cleanup',
      enabled: true,
      schedule: '0 * * * *',
      lastRun: '2026-03-01T04:00:00.000Z',
      nextRun: '2026-03-01T05:00:00.000Z',
      isRunning: false,
      statistics: {
        total: 4,
        completed: 3,
        failed: 1,
        averageDurationMs: Math.round((1000 + 3000 + 4000) / 3),
      },
    });

    // ── from the spec (FAQ: How to query execution history?) ──
    const history = await schedulerPlugin.getJobHistory('cleanup', {
      limit: 50,
      status: 'failed', // or 'success', 'timeout'
    });
    // ── end ──
    expect(history.map((h) => [h.status, h.started_at, h.duration, h.error])).toEqual([
      ['failed', '2026-03-01T02:00:00.000Z', 2000, 'disk full'],
    ]);
    expect((await schedulerPlugin.getJobHistory('cleanup', { status: 'success' })).length).toBe(3);

    // ── from the spec (FAQ: How to get status of all jobs?) ──
    const allStatus = schedulerPlugin.getAllJobsStatus();
    Object.entries(allStatus).forEach(([name, status]) => {
      console.log(`${name}: next run at ${new Date(status.nextRun!)}`);
    });
    // ── end ──
    expect(lines.pop()).toBe(`cleanup: next run at ${new Date('2026-03-01T05:00:00.000Z')}`);

    {
      // ── from the spec (FAQ: How to calculate job success rate?) ──
      const history = await schedulerPlugin.getJobHistory('cleanup', { limit: 100 });
      const successful = history.filter((h) => h.status === 'completed').length;
      const successRate = `${((successful / history.length) * 100).toFixed(2)}%`;
      console.log(`Success rate: ${successRate}`);
      // ── end ──
    }
    {
      // ── from the spec (FAQ: How to track average job duration?) ──
      const history = await schedulerPlugin.getJobHistory('cleanup', { limit: 50 });
      const completedJobs = history.filter((h) => h.status === 'completed' && h.duration);
      const avgDuration = completedJobs.reduce((sum, h) => sum + h.duration!, 0) / completedJobs.length;
      console.log(`Average duration: ${avgDuration.toFixed(2)}ms`);
      // ── end ──
    }
    expect(lines).toEqual(['Success rate: 75.00%', 'Average duration: 2666.67ms']);
    // The same numbers, kept by the scheduler (the spec's JobManager.getJobStats reads them so).
    const stats = await schedulerPlugin.getJobStatistics('cleanup');
    expect(stats).toMatchObject({ successRate: 75, totalRuns: 4, avgDuration: 2667 });
  });

  it('Common Errors: invalid cron, job not found, job already exists', async () => {
    // Invalid Cron Expression
    expect(
      () =>
        new SchedulerPlugin({
          jobs: {
            test: {
              schedule: 'invalid cron', // Throws SchedulerError
              action: async () => {},
            },
          },
        }),
    ).toThrow(SchedulerError);
    try {
      new SchedulerPlugin({ jobs: { test: { schedule: 'invalid cron', action: async () => {} } } });
    } catch (error) {
      const e = error as SchedulerError;
      expect(e.name).toBe('SchedulerError');
      expect(e.message).toBe(
        "Job 'test' has invalid cron expression: invalid cron — expected 5 or 6 fields, got 2",
      );
      expect(e.description).toBeTruthy();
      expect(e.context).toMatchObject({ jobName: 'test' });
    }
    // Good - Use valid cron expressions / presets
    expect(
      () => new SchedulerPlugin({ jobs: { test: { schedule: '0 3 * * *', action: async () => {} } } }),
    ).not.toThrow();
    expect(
      () => new SchedulerPlugin({ jobs: { test: { schedule: '@daily', action: async () => {} } } }),
    ).not.toThrow();

    const schedulerPlugin = harness(
      new SchedulerPlugin({ ...options(), jobs: { 'my-job': { schedule: null, action: async () => 1 } } }),
    );
    // Job Not Found
    await expect(schedulerPlugin.runJob('nonexistent-job')).rejects.toThrow('Job not found: nonexistent-job');
    const jobs = schedulerPlugin.getAllJobsStatus();
    if (jobs['my-job']) {
      await schedulerPlugin.runJob('my-job');
    }
    const allJobs = await schedulerPlugin.listJobs();
    expect(allJobs.map((j) => j.name)).toEqual(['my-job']);

    // Job Already Exists
    await schedulerPlugin.addJob('cleanup', { schedule: '0 2 * * *', action: async () => {} });
    await expect(
      schedulerPlugin.addJob('cleanup', { schedule: '0 3 * * *', action: async () => {} }),
    ).rejects.toThrow('Job already exists: cleanup');
    await schedulerPlugin.updateJob('cleanup', { schedule: '0 3 * * *' });
    await schedulerPlugin.removeJob('cleanup');
    await schedulerPlugin.addJob('cleanup', { schedule: '0 3 * * *', action: async () => {} });
    expect(schedulerPlugin.getJobStatus('cleanup')!.schedule).toBe('0 3 * * *');
  });
});
