import mittModule, { type Emitter } from 'mitt';
import { SHORT_EVENT_NAMES } from './events.js';

// mitt ships CommonJS-style typings for its ES module: at run time the default import is the
// factory, while TypeScript under NodeNext sees the module object. Bridge the two once here.
const mitt = mittModule as unknown as typeof mittModule.default;
type Handler = (payload: never) => unknown;

/**
 * Sees every emitted event after its listeners, with whether anyone listened (under the long or
 * the short name). Taps are not listeners: `has()` does not count them, so the default logging
 * of "nobody listens" cases stays decidable.
 */
export type EventTap<Events> = <K extends keyof Events>(
  type: K,
  payload: Events[K],
  listened: boolean,
) => void;

/**
 * The plugin's events on a mitt emitter, with two guarantees mitt leaves to the caller: a
 * listener that throws or rejects never breaks the scheduler (the error is logged), and the
 * long event names are also emitted under the spec's short names.
 */
export class EventHub<Events extends Record<string, unknown>> {
  readonly #emitter: Emitter<Events> = mitt<Events>();
  readonly #wrapped = new Map<Handler, Map<keyof Events, (payload: unknown) => void>>();
  readonly #taps: Array<{ tap: EventTap<Events>; wants: (type: keyof Events) => boolean }> = [];

  /**
   * Adds a tap (see `EventTap`); a tap that throws loses the event, never the scheduler. `wants`
   * says which events the tap reads (default: all), for `wants()` below.
   */
  tap(tap: EventTap<Events>, wants: (type: keyof Events) => boolean = () => true): void {
    this.#taps.push({ tap, wants });
  }

  /**
   * Whether emitting `type` now reaches anyone: a listener (long or short name) or a tap that
   * reads it. Hot paths (a run's start and end, a thousand a second) skip building a payload
   * nobody reads; rare events are simply emitted.
   */
  wants(type: keyof Events): boolean {
    const short = (SHORT_EVENT_NAMES as Record<string, keyof Events | undefined>)[type as string];
    if (this.has(type) || (short !== undefined && this.has(short))) return true;
    for (const { wants } of this.#taps) if (wants(type)) return true;
    return false;
  }

  on<K extends keyof Events>(type: K, handler: (payload: Events[K]) => unknown): void {
    const wrapped = (payload: unknown) => {
      try {
        const result = (handler as (payload: unknown) => unknown)(payload);
        if (result instanceof Promise) result.catch((error: unknown) => reportListenerError(type, error));
      } catch (error) {
        reportListenerError(type, error);
      }
    };
    let byType = this.#wrapped.get(handler as Handler);
    if (!byType) {
      byType = new Map();
      this.#wrapped.set(handler as Handler, byType);
    }
    byType.set(type, wrapped);
    this.#emitter.on(type, wrapped as never);
  }

  once<K extends keyof Events>(type: K, handler: (payload: Events[K]) => unknown): void {
    const onceHandler = (payload: Events[K]) => {
      this.off(type, onceHandler);
      return handler(payload);
    };
    this.on(type, onceHandler);
  }

  /** Removes one listener, or every listener of the type when none is given. */
  off<K extends keyof Events>(type: K, handler?: (payload: Events[K]) => unknown): void {
    if (!handler) {
      this.#emitter.all.delete(type);
      return;
    }
    const wrapped = this.#wrapped.get(handler as Handler)?.get(type);
    if (!wrapped) return;
    this.#wrapped.get(handler as Handler)!.delete(type);
    this.#emitter.off(type, wrapped as never);
  }

  has(type: keyof Events): boolean {
    return (this.#emitter.all.get(type)?.length ?? 0) > 0;
  }

  emit<K extends keyof Events>(type: K, payload: Events[K]): void {
    const short = (SHORT_EVENT_NAMES as Record<string, keyof Events | undefined>)[type as string];
    const listened = this.has(type) || (short !== undefined && this.has(short));
    this.#emitter.emit(type, payload);
    if (short) this.#emitter.emit(short, payload as unknown as Events[typeof short]);
    for (const { tap } of this.#taps) {
      try {
        tap(type, payload, listened);
      } catch (error) {
        reportListenerError(type, error);
      }
    }
  }
}

function reportListenerError(type: PropertyKey, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`[s3-scheduler] a listener of '${String(type)}' threw: ${message}`);
}
