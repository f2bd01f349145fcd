/**
 * At most `limit` tasks at once; the rest wait in FIFO order. Slot claims go through one, so a
 * burst of due slots cannot flood the store with requests it can only answer more slowly.
 */
export class Limiter {
  #active = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#active++;
    try {
      return await task();
    } finally {
      this.#active--;
      this.#waiting.shift()?.();
    }
  }
}

/** Runs every piece of `work` with at most `limit` going on at once. */
export async function runWithConcurrency(work: Array<() => Promise<void>>, limit: number): Promise<void> {
  let index = 0;
  const worker = async () => {
    while (index < work.length) await work[index++]!();
  };
  await Promise.all(Array.from({ length: Math.min(limit, work.length) }, worker));
}
