import { type Clock, isSchedulerError } from '@s3-scheduler/core';
import { listAll, type ObjectStore } from '@s3-scheduler/storage';
import { DEFAULT_LAYOUT } from '../layout.js';
import { CatalogPublisher, type PublishedJobState } from '../read-model/catalog.js';
import { ChangeWatch } from '../store/change-signal.js';
import type { BackfillResult, RunJobResult } from '../types.js';
import {
  decodeRequest,
  deleteRequest,
  type OperatorRequest,
  REQUEST_RETENTION_MS,
  replaceRequest,
} from './request-record.js';

/** What the leader side needs of the plugin: its public API, and its jobs for the catalog. */
export interface OperatorHost {
  readonly workerId: string;
  isLeader(): boolean;
  getEpoch(): number;
  getActiveWorkers(): string[];
  getJobStatus(name: string): unknown;
  runJob(name: string): Promise<RunJobResult>;
  backfill(name: string, options: { from: string; to: string }): Promise<BackfillResult>;
}

/**
 * The leader's side of operating the cluster from its bucket, driven by the plugin's heartbeat:
 * publishes the job catalog (`catalog.json`) when the jobs changed, and serves operator requests
 * (`requests/`). `requests/` is listed when the change signal moved (a request's writer rewrites
 * it), at promotion, at the leader's sweeps, and while the last list found requests; when idle,
 * no request at all beyond the heartbeat's read of the signal. Requests are served in the
 * background, one at a time, oldest first, so the heartbeat never waits for a run.
 */
export class OperatorBridge {
  readonly #catalog: CatalogPublisher;
  #serving: Promise<void> | undefined;
  /** `requests/` as last listed, against the change signal. */
  readonly #requests = new ChangeWatch();
  /** The last list found requests (being served, or waiting for their CLI or retention). */
  #found = false;

  constructor(
    private readonly store: ObjectStore,
    private readonly host: OperatorHost,
    private readonly jobs: () => Iterable<PublishedJobState>,
    private readonly clock: Clock,
    private readonly onError: (operation: string, error: unknown, jobName?: string) => void,
  ) {
    this.#catalog = new CatalogPublisher(store);
  }

  /**
   * Called by the leader at each heartbeat with the change signal as read then (`undefined`:
   * unreadable, or on promotion: list) and whether this heartbeat is a sweep (list whatever the
   * signal says). Never throws.
   */
  leaderHeartbeat(signal?: string | null, sweep = false): void {
    if (!this.host.isLeader() || this.#serving) return;
    this.#serving = this.#serve(signal, sweep)
      .catch((error: unknown) => this.onError('operator', error))
      .finally(() => {
        this.#serving = undefined;
      });
  }

  /** Resolves once the request being served (if any) is done: the plugin awaits it on stop. */
  async idle(): Promise<void> {
    await this.#serving;
  }

  async #serve(signal: string | null | undefined, sweep: boolean): Promise<void> {
    await this.#catalog.publish(this.jobs(), {
      workerId: this.host.workerId,
      epoch: this.host.getEpoch(),
      now: this.clock.now(),
    });
    if (!sweep && !this.#found && !this.#requests.moved(signal)) return;
    this.#requests.invalidate(); // until this list has completed
    const keys: string[] = [];
    for await (const object of listAll(this.store, DEFAULT_LAYOUT.requests)) keys.push(object.key);
    this.#requests.listed(signal);
    this.#found = keys.length > 0;
    for (const key of keys) {
      if (!this.host.isLeader()) return;
      await this.#serveOne(key).catch((error: unknown) => this.onError('operator-request', error));
    }
  }

  async #serveOne(key: string): Promise<void> {
    const object = await this.store.get(key);
    if (!object) return;
    let request: OperatorRequest;
    try {
      request = decodeRequest(key, object.body);
    } catch (error) {
      // Not ours to keep: a corrupted request is reported once and removed.
      this.onError('operator-request', error);
      await this.store.delete(key);
      return;
    }
    const now = this.clock.now();
    if (request.state === 'done' || request.state === 'failed') {
      // Nobody collected it (`--no-wait`, a CLI that died): kept a while for `requests`, then gone.
      const finished = Date.parse(request.finishedAt ?? request.createdAt);
      if (now - finished >= REQUEST_RETENTION_MS) await deleteRequest(this.store, request.id);
      return;
    }
    if (request.state === 'running') {
      const holder = request.workerId;
      if (holder === this.host.workerId || (holder && this.host.getActiveWorkers().includes(holder))) return;
      // Its leader is gone. A backfill is taken over (its slots are claimed, so none runs twice);
      // a trigger may have run already, so it is not run again: it fails, naming where to look.
      if (request.kind === 'trigger') {
        await replaceRequest(this.store, object.etag, {
          ...request,
          state: 'failed',
          finishedAt: new Date(now).toISOString(),
          error: {
            code: 'JOB_CANCELLED',
            message: `Instance ${holder} stopped while serving this request; look at the job's history for its run`,
          },
        });
        return;
      }
    }
    const taken: OperatorRequest = {
      ...request,
      state: 'running',
      workerId: this.host.workerId,
      epoch: this.host.getEpoch(),
      startedAt: new Date(now).toISOString(),
    };
    const etag = await replaceRequest(this.store, object.etag, taken);
    if (etag === false) return; // another leader took it first
    const outcome = await this.#run(taken);
    await replaceRequest(this.store, etag, {
      ...taken,
      ...outcome,
      finishedAt: new Date(this.clock.now()).toISOString(),
    });
  }

  async #run(request: OperatorRequest): Promise<Partial<OperatorRequest>> {
    try {
      if (request.kind === 'trigger') {
        const run = await this.host.runJob(request.job);
        return {
          state: run.status === 'completed' ? 'done' : 'failed',
          run: {
            runId: run.runId,
            status: run.status,
            durationMs: run.durationMs,
            ...(run.error ? { error: run.error } : {}),
          },
        };
      }
      const result = await this.host.backfill(request.job, {
        from: request.from ?? '',
        to: request.to ?? '',
      });
      const failed = result.runs.some((run) => run.status !== 'completed' && run.status !== 'already-ran');
      return { state: failed ? 'failed' : 'done', backfill: result };
    } catch (error) {
      this.onError('operator-request', error, request.job);
      return {
        state: 'failed',
        error: {
          code: isSchedulerError(error) ? error.code : 'INTERNAL',
          message: error instanceof Error ? error.message : String(error),
        },
      };
    }
  }
}
