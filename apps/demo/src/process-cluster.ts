import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Clock, systemClock } from '@s3-scheduler/core';
import { demoJobs } from './jobs.js';
import { workerIds } from './local-cluster.js';
import type {
  Cluster,
  ClusterEvent,
  ClusterSnapshot,
  InstanceReport,
  MissedReport,
  Promotion,
} from './model.js';
import type { ParentMessage, WorkerMessage, WorkerSettings } from './protocol.js';
import { mergeReports } from './snapshot.js';

export interface ProcessClusterOptions {
  store: string;
  runPrefix: string;
  description: string;
  instances: number;
  heartbeatMs: number;
  coldStartMs: number;
  clock?: Clock;
}

interface Child {
  id: string;
  process: ChildProcess;
  report: InstanceReport | undefined;
  killed: boolean;
  paused: boolean;
  exited: Promise<void>;
  ready: Promise<void>;
}

/** The compiled worker next to this module; under the test runner (TypeScript sources), dist's. */
function workerScript(): string {
  const here = fileURLToPath(new URL('./worker.js', import.meta.url));
  if (existsSync(here)) return here;
  const built = fileURLToPath(new URL('../dist/worker.js', import.meta.url));
  if (existsSync(built)) return built;
  throw new Error(`The multi-process demo needs the compiled worker (${built}): run 'pnpm build' first.`);
}

/**
 * One OS process per instance, all on one `s3://` store. Crash = SIGKILL; pause = SIGSTOP, then
 * SIGCONT: the whole process freezes, timers and sockets included, as in a real stall.
 */
export class ProcessCluster implements Cluster {
  readonly mode = 'multi-process';
  readonly description: string;
  readonly promotions: Promotion[] = [];
  readonly missedReports: MissedReport[] = [];
  readonly jobsSince = new Map<string, number>();
  allDownAt: number | undefined;
  readonly #options: ProcessClusterOptions;
  readonly #children: Child[] = [];
  readonly #handlers: Array<(event: ClusterEvent) => void> = [];
  readonly #clock: Clock;
  readonly #pauses = new Set<AbortController>();

  constructor(options: ProcessClusterOptions) {
    this.#options = options;
    this.description = options.description;
    this.#clock = options.clock ?? systemClock;
  }

  onEvent(handler: (event: ClusterEvent) => void): void {
    this.#handlers.push(handler);
  }

  #emit(event: ClusterEvent): void {
    for (const handler of this.#handlers) handler(event);
  }

  #fault(text: string): void {
    this.#emit({ at: this.#clock.now(), kind: 'fault', text });
  }

  async start(): Promise<void> {
    const now = this.#clock.now();
    for (const name of Object.keys(demoJobs())) this.jobsSince.set(name, now);
    const script = workerScript();
    for (const id of workerIds(this.#options.instances)) {
      const settings: WorkerSettings = {
        id,
        store: this.#options.store,
        runPrefix: this.#options.runPrefix,
        heartbeatMs: this.#options.heartbeatMs,
        coldStartMs: this.#options.coldStartMs,
        extraJobs: [],
      };
      const child = fork(script, [], {
        env: { ...process.env, DEMO_WORKER: JSON.stringify(settings) },
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      });
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-2000);
      });
      let onReady: () => void = () => undefined;
      let onFailed: (error: Error) => void = () => undefined;
      const ready = new Promise<void>((resolve, reject) => {
        onReady = resolve;
        onFailed = reject;
      });
      const entry: Child = {
        id,
        process: child,
        report: undefined,
        killed: false,
        paused: false,
        ready,
        exited: new Promise<void>((resolve) => child.once('exit', () => resolve())),
      };
      child.on('message', (message: WorkerMessage) => {
        switch (message.type) {
          case 'ready':
            onReady();
            break;
          case 'report':
            entry.report = message.report;
            break;
          case 'event':
            this.#emit(message.event);
            break;
          case 'promoted':
            this.promotions.push(message.promotion);
            break;
          case 'missed':
            this.missedReports.push(message.report);
            break;
        }
      });
      child.once('exit', (code, signal) => {
        onFailed(
          new Error(`instance ${id} exited (${signal ?? code}) before it was ready: ${stderr.trim()}`),
        );
        if (!entry.killed && code !== 0) {
          this.#emit({
            at: this.#clock.now(),
            kind: 'error',
            text: `${id} (pid ${child.pid}) exited with ${signal ?? code}: ${stderr.trim().split('\n').at(-1) ?? ''}`,
          });
        }
      });
      this.#children.push(entry);
    }
    await Promise.all(this.#children.map((child) => child.ready));
  }

  snapshot(): ClusterSnapshot {
    return mergeReports(
      this.#children.map((child): InstanceReport => {
        const report = child.report ?? {
          instance: { id: child.id, state: 'starting', epoch: 0, leader: null, runs: 0 },
          jobs: [],
          live: [],
        };
        const instance = { ...report.instance, pid: child.process.pid ?? 0 };
        if (child.killed)
          return { ...report, live: [], instance: { ...instance, state: 'killed', leader: null } };
        if (child.paused) return { ...report, instance: { ...instance, state: 'paused' } };
        return { ...report, instance };
      }),
    );
  }

  #leader(): Child | undefined {
    return this.#children.find(
      (child) => !child.killed && !child.paused && child.report?.instance.state === 'leader',
    );
  }

  hasLiveLeader(): boolean {
    return this.#leader() !== undefined;
  }

  liveInstances(): number {
    return this.#children.filter((child) => !child.killed).length;
  }

  async killLeader(): Promise<string | null> {
    const leader = this.#leader();
    if (!leader) {
      this.#fault('kill: nobody leads right now, nothing to kill');
      return null;
    }
    leader.killed = true;
    leader.process.kill('SIGKILL');
    const last = this.liveInstances() === 0;
    if (last) this.allDownAt = this.#clock.now();
    this.#fault(
      `${leader.id} (pid ${leader.process.pid}) killed with SIGKILL at epoch ${leader.report?.instance.epoch}; ${
        last
          ? 'it was the last live instance: nobody is left to take over'
          : `the lease runs out in ${3 * this.#options.heartbeatMs} ms`
      }`,
    );
    return leader.id;
  }

  async pauseLeader(ms: number): Promise<string | null> {
    const leader = this.#leader();
    if (!leader) {
      this.#fault('pause: nobody leads right now, nothing to pause');
      return null;
    }
    leader.paused = true;
    leader.process.kill('SIGSTOP');
    this.#fault(`${leader.id} (pid ${leader.process.pid}) frozen with SIGSTOP for ${ms} ms`);
    const controller = new AbortController();
    this.#pauses.add(controller);
    void this.#clock
      .sleep(ms, controller.signal)
      .catch(() => undefined)
      .then(() => {
        this.#pauses.delete(controller);
        this.#resume(leader);
      });
    return leader.id;
  }

  #resume(child: Child): void {
    if (!child.paused || child.killed) return;
    child.paused = false;
    // Its last report predates the freeze: wait for a fresh one before trusting it again.
    child.report = undefined;
    child.process.kill('SIGCONT');
    this.#fault(`${child.id} (pid ${child.process.pid}) resumed with SIGCONT`);
  }

  async resumeAll(): Promise<void> {
    for (const controller of this.#pauses) controller.abort();
    this.#pauses.clear();
    for (const child of this.#children) this.#resume(child);
  }

  #send(child: Child, message: ParentMessage): void {
    if (!child.killed && child.process.connected) child.process.send(message);
  }

  async addJob(name: string): Promise<void> {
    this.jobsSince.set(name, this.#clock.now());
    const live = this.#children.filter((child) => !child.killed);
    for (const child of live) this.#send(child, { type: 'add-job', name });
    this.#emit({
      at: this.#clock.now(),
      kind: 'info',
      text: `job ${name} added to ${live.length} processes`,
    });
  }

  async trigger(name: string): Promise<string> {
    const child =
      this.#leader() ?? this.#children.find((candidate) => !candidate.killed && !candidate.paused);
    if (!child) throw new Error('no live instance to run the job on');
    this.#send(child, { type: 'trigger', name });
    return child.id;
  }

  async stop(): Promise<void> {
    await this.resumeAll();
    const live = this.#children.filter((child) => !child.killed);
    for (const child of live) this.#send(child, { type: 'stop' });
    await Promise.all(
      live.map(async (child) => {
        const timer = setTimeout(() => child.process.kill('SIGKILL'), 20_000);
        await child.exited;
        clearTimeout(timer);
      }),
    );
  }

  /** Kills every child at once (the parent is exiting abnormally). */
  killAll(): void {
    for (const child of this.#children) if (child.process.exitCode === null) child.process.kill('SIGKILL');
  }
}
