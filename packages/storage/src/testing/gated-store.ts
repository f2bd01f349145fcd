import { recordStoreOperation } from '@s3-scheduler/core/testing';
import { ForwardingStore, type StoreOperation } from '../forwarding-store.js';

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

/**
 * One simulated process's view of a shared store, for tests of crashes and pauses.
 * `kill()`: every request, sent or still to come, hangs forever, as those of a process that
 * died (a request already at the server may still be applied; its answer is lost), so it writes
 * nothing more, releases nothing, and its leases run out. `pause()` … `resume()`: requests wait
 * to be sent and answers wait to be read, as in a long GC pause; then they go through, late.
 */
export class GatedStore extends ForwardingStore {
  #killed = false;
  #inflight = 0;
  #resumed: Promise<void> | undefined;
  #release: (() => void) | undefined;

  get killed(): boolean {
    return this.#killed;
  }

  get paused(): boolean {
    return this.#resumed !== undefined;
  }

  /** Requests sent and not yet answered (the hung requests of a killed store are not counted). */
  get inflight(): number {
    return this.#inflight;
  }

  kill(): void {
    this.#killed = true;
  }

  pause(): void {
    this.#resumed ??= new Promise<void>((resolve) => {
      this.#release = resolve;
    });
  }

  resume(): void {
    const release = this.#release;
    this.#resumed = undefined;
    this.#release = undefined;
    release?.();
  }

  protected override async around<T>(
    operation: StoreOperation,
    key: string,
    request: () => Promise<T>,
  ): Promise<T> {
    // For a failing test's report: what this process asked for, and whether it hangs.
    recordStoreOperation(
      'gated',
      operation,
      key,
      this.#killed ? 'hung (killed)' : this.paused ? 'held (paused)' : 'sent',
    );
    await this.#gate();
    this.#inflight++;
    let result: T;
    try {
      result = await request();
    } finally {
      this.#inflight--;
    }
    await this.#gate();
    return result;
  }

  async #gate(): Promise<void> {
    while (this.#resumed && !this.#killed) await this.#resumed;
    if (this.#killed) await never();
  }
}
