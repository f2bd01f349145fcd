/** One job's next due instant, as kept in the heap. */
export interface DueEntry {
  /** When to fire: the slot, or later with `jitter`. */
  at: number;
  /** The slot's UTC instant (its identity). */
  slot: number;
  job: string;
  /** Matches the job's current generation; older entries are stale and skipped. */
  generation: number;
}

/**
 * A binary min-heap of next run instants, so one timer serves every job: the timer sleeps until
 * the top entry is due. Replacing or removing a job bumps its generation instead of searching
 * the heap; stale entries are dropped when they reach the top.
 */
export class DueHeap {
  readonly #items: DueEntry[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): DueEntry | undefined {
    return this.#items[0];
  }

  push(entry: DueEntry): void {
    const items = this.#items;
    items.push(entry);
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(items[index]!, items[parent]!)) break;
      swap(items, index, parent);
      index = parent;
    }
  }

  pop(): DueEntry | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last) {
      items[0] = last;
      let index = 0;
      for (;;) {
        const left = 2 * index + 1;
        const right = left + 1;
        let smallest = index;
        if (left < items.length && before(items[left]!, items[smallest]!)) smallest = left;
        if (right < items.length && before(items[right]!, items[smallest]!)) smallest = right;
        if (smallest === index) break;
        swap(items, index, smallest);
        index = smallest;
      }
    }
    return top;
  }

  clear(): void {
    this.#items.length = 0;
  }
}

function swap(items: DueEntry[], i: number, j: number): void {
  const item = items[i]!;
  items[i] = items[j]!;
  items[j] = item;
}

function before(a: DueEntry, b: DueEntry): boolean {
  return a.at < b.at || (a.at === b.at && a.job < b.job);
}
