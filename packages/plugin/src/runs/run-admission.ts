/**
 * Per-job admission of runs on one instance, for jobs whose overlap policy forbids a second run
 * (`skip`). A run is admitted synchronously, before the first `await` of whoever starts it
 * (`runJob`, a due slot), and holds its place until it is registered as running (or gives up):
 * between the two lie a history query and a claim, and without this two concurrent `runJob`
 * calls would both pass the "is it running?" check.
 */
export class RunAdmission {
  readonly #held = new Set<string>();

  /** Whether a run of `job` is admitted and not yet registered as running. */
  held(job: string): boolean {
    return this.#held.has(job);
  }

  /** Admits a run of `job`; `undefined` if one is admitted already. The release is idempotent. */
  tryEnter(job: string): (() => void) | undefined {
    if (this.#held.has(job)) return undefined;
    this.#held.add(job);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#held.delete(job);
    };
  }
}
