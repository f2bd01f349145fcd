import type { ObjectStore } from '@s3-scheduler/storage';
import type { EventTap } from '../event-hub.js';
import type { SchedulerEvents } from '../events.js';
import type { ResolvedPluginOptions } from '../plugin-options.js';
import { LogObserver } from './log-observer.js';
import { loadActivation, loadGlobalTelemetry, Telemetry } from './telemetry.js';

/**
 * The plugin's logs and OpenTelemetry, kept outside the engine: both are consumers of the
 * plugin's events (through an event tap that does not count as a listener) and of one store
 * wrapper. The engine's only duties are to emit complete events and to pass its store through
 * `instrumentStore`.
 */
export class Observability {
  readonly #options: Pick<ResolvedPluginOptions, 'logger' | 'telemetry' | 'clock'>;
  readonly #log: LogObserver | undefined;
  #telemetry: Telemetry | undefined;
  #loading: Promise<Telemetry> | undefined;

  constructor(options: Pick<ResolvedPluginOptions, 'logger' | 'telemetry' | 'clock'>) {
    this.#options = options;
    const clock = options.clock;
    this.#log = options.logger ? new LogObserver(options.logger, () => clock.now()) : undefined;
    const telemetry = options.telemetry;
    if (telemetry !== undefined && telemetry !== 'global') this.#telemetry = new Telemetry(telemetry, clock);
  }

  /** For `EventHub.tap`: every event, after its listeners. */
  readonly tap: EventTap<SchedulerEvents> = (type, payload, listened) => {
    this.#log?.observe(type, payload, listened);
    this.#telemetry?.observe(type, payload);
  };

  /**
   * The store the plugin should use: counted and timed when a meter is configured. With
   * telemetry on, this is where `@opentelemetry/api` is imported (once; the store is opened
   * before anything runs): for `telemetry: true` its absence is reported (`INVALID_OPTION`); with
   * a tracer passed in, it only makes the attempt's span active around the action.
   */
  async instrumentStore(store: ObjectStore): Promise<ObjectStore> {
    if (this.#options.telemetry === 'global' && !this.#telemetry) {
      const clock = this.#options.clock;
      this.#loading ??= loadGlobalTelemetry().then((instruments) => new Telemetry(instruments, clock));
      try {
        this.#telemetry = await this.#loading;
      } finally {
        this.#loading = undefined;
      }
    }
    if (this.#telemetry?.needsActivation) this.#telemetry.activate = await loadActivation();
    return this.#telemetry ? this.#telemetry.instrumentStore(store) : store;
  }

  /** For `EventHub.tap`: whether the tap reads events of `type` (see `EventHub.wants`). */
  readonly wants = (type: keyof SchedulerEvents): boolean =>
    this.#options.telemetry !== undefined || (this.#log !== undefined && LogObserver.reads(type));

  /** Runs an attempt's action inside its span (see `Telemetry.inSpan`); just `fn()` without tracing. */
  inSpan<T>(runId: string, fn: () => T): T {
    return this.#telemetry ? this.#telemetry.inSpan(runId, fn) : fn();
  }
}
