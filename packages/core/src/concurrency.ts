/**
 * At most `limit` tasks at once; the rest wait in FIFO order (for example slot claims, so a
 * burst of due slots cannot flood the store with requests it can only answer more slowly).
 */
export class Limiter {
  #active = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  run<T>(task: () => Promise<T>): Promise<T> {
    // Below the limit the task starts at once, without an extra turn (a burst's claims pass here).
    if (this.#active < this.limit) return this.#start(task);
    return new Promise<void>((resolve) => this.#waiting.push(resolve)).then(() => this.#start(task));
  }

  #start<T>(task: () => Promise<T>): Promise<T> {
    this.#active++;
    let work: Promise<T>;
    try {
      work = task();
    } catch (error) {
      this.#release();
      return Promise.reject(error);
    }
    return work.finally(() => this.#release());
  }

  #release(): void {
    this.#active--;
    this.#waiting.shift()?.();
  }
}

/** Runs every piece of `work` with at most `limit` going on at once; resolves when all are done. */
export async function runWithConcurrency(work: Array<() => Promise<void>>, limit: number): Promise<void> {
  let index = 0;
  const worker = async () => {
    while (index < work.length) await work[index++]!();
  };
  await Promise.all(Array.from({ length: Math.min(limit, work.length) }, worker));
}

/**
 * Tasks of one key run one after the other, in call order (tasks of different keys run side by
 * side): the last one to resolve is the newest. A task that fails does not stop the next one.
 */
export class KeyedQueue {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const next = previous.then(task, task);
    const settled = next.catch(() => undefined);
    this.#tails.set(key, settled);
    void settled.then(() => {
      if (this.#tails.get(key) === settled) this.#tails.delete(key);
    });
    return next;
  }
}
