import { type Clock, systemClock } from '@s3-scheduler/core';
import type { ObjectStore } from '@s3-scheduler/storage';
import { GatedStore } from '@s3-scheduler/storage/testing';
import { ExecutionCounter } from './executions.js';
import { KillableClock } from './faults.js';
import { DemoInstance } from './instance.js';
import { demoJobs } from './jobs.js';
import type {
  Cluster,
  ClusterEvent,
  ClusterSnapshot,
  InstanceReport,
  MissedReport,
  Promotion,
} from './model.js';
import { mergeReports } from './snapshot.js';

export interface LocalClusterOptions {
  /** The demo run's root in the shared store. */
  root: ObjectStore;
  description: string;
  instances: number;
  heartbeatMs: number;
  coldStartMs: number;
  clock?: Clock;
}

interface Member {
  demo: DemoInstance;
  store: GatedStore;
  clock: KillableClock;
  killed: boolean;
  paused: boolean;
}

export function workerIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `node-${String.fromCharCode(97 + i)}`);
}

/**
 * N scheduler instances in this process on one shared store, each behind its own faulty view
 * of the store and its own killable clock, so one can crash or freeze alone.
 */
export class LocalCluster implements Cluster {
  readonly mode = 'in-process';
  readonly description: string;
  readonly counter = new ExecutionCounter();
  readonly promotions: Promotion[] = [];
  readonly missedReports: MissedReport[] = [];
  readonly jobsSince = new Map<string, number>();
  allDownAt: number | undefined;
  readonly #members: Member[] = [];
  readonly #handlers: Array<(event: ClusterEvent) => void> = [];
  readonly #clock: Clock;
  readonly #heartbeatMs: number;
  readonly #pauses = new Set<AbortController>();

  constructor(options: LocalClusterOptions) {
    this.description = options.description;
    this.#clock = options.clock ?? systemClock;
    this.#heartbeatMs = options.heartbeatMs;
    for (const id of workerIds(options.instances)) {
      const store = new GatedStore(options.root);
      const clock = new KillableClock(this.#clock);
      const demo = new DemoInstance({
        id,
        store,
        clock,
        heartbeatMs: options.heartbeatMs,
        coldStartMs: options.coldStartMs,
        markers: store,
        counter: this.counter,
        onEvent: (event) => this.#emit(event),
      });
      demo.plugin.on('plg:scheduler:coordinator-promoted', ({ workerId, epoch, timestamp }) =>
        this.promotions.push({ workerId, epoch, at: timestamp }),
      );
      demo.plugin.on('plg:scheduler:job-skipped', ({ jobName, slot, reason, count, workerId }) => {
        if (reason === 'missed') this.missedReports.push({ job: jobName, slot, count: count ?? 1, workerId });
      });
      this.#members.push({ demo, store, clock, killed: false, paused: false });
    }
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
    await Promise.all(this.#members.map((member) => member.demo.plugin.start()));
  }

  snapshot(): ClusterSnapshot {
    const reports: InstanceReport[] = this.#members.map((member) => {
      const report = member.demo.report(member.killed ? 'killed' : member.paused ? 'paused' : undefined);
      // A dead process tells nothing: its frozen attempts and its stale belief are not shown.
      if (member.killed) return { ...report, live: [], instance: { ...report.instance, leader: null } };
      return report;
    });
    return mergeReports(reports);
  }

  #leader(): Member | undefined {
    return this.#members.find((member) => !member.killed && !member.paused && member.demo.plugin.isLeader());
  }

  hasLiveLeader(): boolean {
    return this.#leader() !== undefined;
  }

  liveInstances(): number {
    return this.#members.filter((member) => !member.killed).length;
  }

  async killLeader(): Promise<string | null> {
    const leader = this.#leader();
    if (!leader) {
      this.#fault('kill: nobody leads right now, nothing to kill');
      return null;
    }
    leader.killed = true;
    leader.store.kill();
    leader.clock.kill();
    const last = this.liveInstances() === 0;
    if (last) this.allDownAt = this.#clock.now();
    this.#fault(
      `${leader.demo.id} killed at epoch ${leader.demo.plugin.getEpoch()}: timers stopped, store requests hang (a crash); ${
        last
          ? 'it was the last live instance: nobody is left to take over'
          : `its lease runs out in ${3 * this.#heartbeatMs} ms`
      }`,
    );
    return leader.demo.id;
  }

  async pauseLeader(ms: number): Promise<string | null> {
    const leader = this.#leader();
    if (!leader) {
      this.#fault('pause: nobody leads right now, nothing to pause');
      return null;
    }
    leader.paused = true;
    leader.store.pause();
    this.#fault(
      `${leader.demo.id} paused for ${ms} ms: its store requests and answers are held (a long GC pause)`,
    );
    const controller = new AbortController();
    this.#pauses.add(controller);
    void this.#clock
      .sleep(ms, controller.signal)
      .catch(() => undefined)
      .then(() => {
        this.#pauses.delete(controller);
        this.#resume(leader);
      });
    return leader.demo.id;
  }

  #resume(member: Member): void {
    if (!member.paused || member.killed) return;
    member.paused = false;
    member.store.resume();
    this.#fault(`${member.demo.id} resumed: its held requests go through now, late`);
  }

  async resumeAll(): Promise<void> {
    for (const controller of this.#pauses) controller.abort();
    this.#pauses.clear();
    for (const member of this.#members) this.#resume(member);
  }

  async addJob(name: string): Promise<void> {
    this.jobsSince.set(name, this.#clock.now());
    const live = this.#members.filter((member) => !member.killed);
    await Promise.all(live.map((member) => member.demo.addJob(name)));
    this.#emit({
      at: this.#clock.now(),
      kind: 'info',
      text: `job ${name} added to ${live.length} instances`,
    });
  }

  async trigger(name: string): Promise<string> {
    const member =
      this.#leader() ?? this.#members.find((candidate) => !candidate.killed && !candidate.paused);
    if (!member) throw new Error('no live instance to run the job on');
    void member.demo.plugin.runJob(name).catch((error: Error) => {
      this.#emit({
        at: this.#clock.now(),
        kind: 'error',
        text: `trigger ${name} on ${member.demo.id}: ${error.message}`,
      });
    });
    return member.demo.id;
  }

  async stop(): Promise<void> {
    await this.resumeAll();
    // Killed instances are never stopped: a dead process does not hand over.
    await Promise.all(this.#members.filter((m) => !m.killed).map((member) => member.demo.plugin.stop()));
  }
}
