/** Where a plugin is in its life: only `started` fires slots. */
export type LifecycleState = 'stopped' | 'started';

/**
 * Orders `start()` and `stop()` of one plugin, whatever the callers do at the same time.
 * Requests run one after the other in call order; a request equal to the last one still
 * queued joins it (two concurrent `start()` calls share one start), and a request that finds
 * the plugin already in the state it asks for does nothing. So a `stop()` issued while a
 * `start()` is under way runs after it and leaves nothing running, and start–stop–start works.
 *
 * A transition that throws leaves the state as it was (its own code must undo what it did).
 */
export class Lifecycle {
  #state: LifecycleState = 'stopped';
  #tail: Promise<unknown> = Promise.resolve();
  #last: { target: LifecycleState; done: Promise<void> } | undefined;

  get state(): LifecycleState {
    return this.#state;
  }

  /** Whether a transition is queued or running. */
  get busy(): boolean {
    return this.#last !== undefined;
  }

  /** Queues a move to `target`; `transition` runs only if the state is not `target` by then. */
  request(target: LifecycleState, transition: () => Promise<void>): Promise<void> {
    if (this.#last?.target === target) return this.#last.done;
    const done = this.#tail
      .catch(() => undefined)
      .then(async () => {
        if (this.#state === target) return;
        await transition();
        this.#state = target;
      });
    const entry = { target, done };
    this.#last = entry;
    this.#tail = done;
    void done
      .finally(() => {
        if (this.#last === entry) this.#last = undefined;
      })
      .catch(() => undefined);
    return done;
  }
}
