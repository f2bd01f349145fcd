import {
  type Clock,
  checkBoolean,
  checkInteger,
  checkMethods,
  checkNumber,
  checkOptions,
  checkString,
  invalidOption,
  redactText,
  systemClock,
  type Where,
} from '@s3-scheduler/core';
import { timezoneError } from '@s3-scheduler/cron';
import {
  decodeKeySegment,
  encodeKeySegment,
  MAX_CONNECTION_STRING_LENGTH,
  OBJECT_STORE_METHODS,
  type ObjectStore,
  parseConnectionString,
} from '@s3-scheduler/storage';
import { DEFAULT_HISTORY_RESOURCE, DEFAULT_KEY_PREFIX } from './layout.js';
import { type ResolvedTelemetry, resolveTelemetry } from './observability/telemetry.js';
import type { JobConfig } from './types.js';
import { checkJobName, keysOf } from './validate.js';

export const PLUGIN_KEYS = [
  'enabled',
  'timezone',
  'jobs',
  'maxConcurrentJobs',
  'persistJobs',
  'historyResource',
  'cleanupInterval',
  'historyRetention',
  'enableCoordinator',
  'heartbeatInterval',
  'leaseDuration',
  'leaseCheckInterval',
  'renewFraction',
  'coldStartObservationWindow',
  'skipColdStart',
  'connectionString',
  'store',
  'workerId',
  'clock',
  'stopTimeout',
  'database',
  'logger',
  'telemetry',
  'keyPrefix',
] as const;

export const PLUGIN_DEFAULTS = {
  enabled: true,
  timezone: 'UTC',
  maxConcurrentJobs: 5,
  persistJobs: true,
  historyResource: DEFAULT_HISTORY_RESOURCE,
  cleanupInterval: 86_400_000,
  historyRetention: 2_592_000_000,
  enableCoordinator: true,
  heartbeatInterval: 30_000,
  coldStartObservationWindow: 15_000,
  skipColdStart: false,
  connectionString: 'memory://default/scheduler',
  stopTimeout: 30_000,
  keyPrefix: DEFAULT_KEY_PREFIX,
} as const;

/**
 * Documented upper bounds of the plugin options: beyond them a value is a mistake (a heartbeat
 * of 1e20 ms would wedge leadership), refused with `INVALID_OPTION` by the constructor.
 */
export const PLUGIN_LIMITS = Object.freeze({
  maxConcurrentJobs: 10_000,
  /** 10 ms to 10 minutes. */
  heartbeatIntervalMin: 10,
  heartbeatIntervalMax: 600_000,
  /** Leader lease: 100 ms to 10 minutes (renewed every `renewFraction` of it). */
  leaseDurationMin: 100,
  leaseDurationMax: 600_000,
  /** The successor's lease reads: 10 ms up to `heartbeatInterval`. */
  leaseCheckIntervalMin: 10,
  /** The leader renews this fraction of the lease after its last renewal: 0.25 to 0.9. */
  renewFractionMin: 0.25,
  renewFractionMax: 0.9,
  /** 1 hour. */
  coldStartObservationWindow: 3_600_000,
  /** 365 days. */
  cleanupInterval: 31_536_000_000,
  /** 3,650 days. */
  historyRetention: 315_360_000_000,
  /** 1 day. */
  stopTimeout: 86_400_000,
  workerIdLength: 128,
  historyResourceLength: 200,
  keyPrefixLength: 512,
});

/** What the plugin logs through: never throws, every level present (missing ones are no-ops). */
export interface SafeLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface ResolvedPluginOptions {
  enabled: boolean;
  timezone: string;
  maxConcurrentJobs: number;
  persistJobs: boolean;
  historyResource: string;
  cleanupInterval: number;
  historyRetention: number;
  enableCoordinator: boolean;
  heartbeatInterval: number;
  /** `undefined`: the coordinator's default (12 s, or 3 heartbeats when shorter). */
  leaseDuration: number | undefined;
  /** `undefined`: the coordinator's default (the renewal period, at most a heartbeat). */
  leaseCheckInterval: number | undefined;
  /** `undefined`: the coordinator's default (0.75). */
  renewFraction: number | undefined;
  coldStartObservationWindow: number;
  skipColdStart: boolean;
  connectionString: string;
  store: ObjectStore | undefined;
  keyPrefix: string;
  workerId: string | undefined;
  clock: Clock;
  stopTimeout: number;
  database: unknown;
  logger: SafeLogger | null;
  /** `undefined`: no OpenTelemetry; `'global'`: the global providers, loaded at start. */
  telemetry: ResolvedTelemetry;
  /** The job definitions by name (a plain copy of the `jobs` object). */
  jobs: Record<string, JobConfig>;
}

/**
 * Validates the plugin options where the user wrote them (the constructor), on the shared
 * validation of `@s3-scheduler/core`; the jobs themselves are validated by `normalizeJob`.
 * Everything `start()` would otherwise find wrong later (the connection string, the store's
 * methods, the worker id's length) is refused here, so `start()` cannot half-start on bad input.
 */
export function resolvePluginOptions(input: unknown): ResolvedPluginOptions {
  // Named as the user wrote it: messages read "Unknown option 'jbos' in new SchedulerPlugin()".
  const operation = 'new SchedulerPlugin()';
  if (input !== undefined && (typeof input !== 'object' || input === null || Array.isArray(input))) {
    throw invalidOption(
      { operation, option: 'options' },
      input,
      'an object',
      'Call new SchedulerPlugin({ jobs: { … } }).',
    );
  }
  // A plain copy, each option read once: what is checked here is what the plugin uses.
  const options = checkOptions(input, PLUGIN_KEYS, { operation, option: 'options' });
  const at = (option: string): Where => ({ operation, option });
  const integer = (option: keyof typeof PLUGIN_DEFAULTS, min: number, max: number, unit = 'ms') =>
    checkInteger(options[option] ?? PLUGIN_DEFAULTS[option], at(option), { min, max, unit });

  const timezone = checkString(options.timezone ?? PLUGIN_DEFAULTS.timezone, at('timezone'), {
    maxLength: 64,
  });
  // The cron package's check, so the wording (with "did you mean") matches a job's own zone.
  const zoneError = timezoneError(timezone, { operation, option: 'timezone' });
  if (zoneError !== null) throw zoneError;
  // An array (`jobs: []`) is a type mistake, refused; an empty object is a plugin whose jobs
  // come later through addJob().
  const jobs = options.jobs;
  if (jobs !== undefined && (typeof jobs !== 'object' || jobs === null || Array.isArray(jobs))) {
    throw invalidOption(
      at('jobs'),
      jobs,
      'an object keyed by job name',
      "Pass jobs: { daily_cleanup: { schedule: '0 3 * * *', action } } (or leave it out and use addJob()).",
    );
  }
  const jobsCopy = jobs === undefined ? {} : checkOptions(jobs, keysOf(jobs), at('jobs'));
  // Job names become keys and log lines: a blank or 40 KB name is refused before its job.
  for (const name of Object.keys(jobsCopy)) checkJobName(name, operation);
  const store =
    options.store === undefined
      ? undefined
      : checkMethods<ObjectStore>(options.store, OBJECT_STORE_METHODS, at('store'), 'an ObjectStore');
  const heartbeatInterval = integer(
    'heartbeatInterval',
    PLUGIN_LIMITS.heartbeatIntervalMin,
    PLUGIN_LIMITS.heartbeatIntervalMax,
  );
  const connectionString = checkString(
    options.connectionString ?? PLUGIN_DEFAULTS.connectionString,
    at('connectionString'),
    { maxLength: MAX_CONNECTION_STRING_LENGTH },
  );
  // Offline and synchronous: a malformed string is refused here, not at start(); also when a
  // `store` wins over it, as every other option given is checked whether or not it is used.
  parseConnectionString(connectionString);
  const workerId =
    options.workerId === undefined ? undefined : checkWorkerId(options.workerId, at('workerId'));
  const keyPrefix = checkString(options.keyPrefix ?? PLUGIN_DEFAULTS.keyPrefix, at('keyPrefix'), {
    maxLength: PLUGIN_LIMITS.keyPrefixLength,
    pattern: /^(?!\/)(?!.*\/\/)/s,
    patternDescription: "relative, without '//'",
  });
  const boolean = (option: 'enabled' | 'persistJobs' | 'enableCoordinator' | 'skipColdStart') =>
    checkBoolean(options[option] ?? PLUGIN_DEFAULTS[option], at(option));
  return {
    enabled: boolean('enabled'),
    timezone,
    maxConcurrentJobs: integer('maxConcurrentJobs', 1, PLUGIN_LIMITS.maxConcurrentJobs, 'jobs'),
    persistJobs: boolean('persistJobs'),
    historyResource: checkString(
      options.historyResource ?? PLUGIN_DEFAULTS.historyResource,
      at('historyResource'),
      {
        minLength: 1,
        maxLength: PLUGIN_LIMITS.historyResourceLength,
      },
    ),
    cleanupInterval: integer('cleanupInterval', 0, PLUGIN_LIMITS.cleanupInterval),
    historyRetention: integer('historyRetention', 0, PLUGIN_LIMITS.historyRetention),
    enableCoordinator: boolean('enableCoordinator'),
    heartbeatInterval,
    leaseDuration:
      options.leaseDuration === undefined
        ? undefined
        : checkInteger(options.leaseDuration, at('leaseDuration'), {
            min: PLUGIN_LIMITS.leaseDurationMin,
            max: PLUGIN_LIMITS.leaseDurationMax,
            unit: 'ms',
          }),
    leaseCheckInterval:
      options.leaseCheckInterval === undefined
        ? undefined
        : checkInteger(options.leaseCheckInterval, at('leaseCheckInterval'), {
            min: PLUGIN_LIMITS.leaseCheckIntervalMin,
            max: heartbeatInterval,
            unit: 'ms',
          }),
    renewFraction:
      options.renewFraction === undefined
        ? undefined
        : checkNumber(options.renewFraction, at('renewFraction'), {
            min: PLUGIN_LIMITS.renewFractionMin,
            max: PLUGIN_LIMITS.renewFractionMax,
          }),
    coldStartObservationWindow: integer(
      'coldStartObservationWindow',
      0,
      PLUGIN_LIMITS.coldStartObservationWindow,
    ),
    skipColdStart: boolean('skipColdStart'),
    connectionString,
    store,
    keyPrefix,
    workerId,
    clock:
      options.clock === undefined
        ? systemClock
        : checkMethods<Clock>(options.clock, ['now', 'monotonic', 'sleep'], at('clock'), 'a Clock'),
    stopTimeout: integer('stopTimeout', 0, PLUGIN_LIMITS.stopTimeout),
    database: options.database ?? null,
    logger: resolveLogger(options.logger, at('logger')),
    telemetry: resolveTelemetry(options.telemetry, at('telemetry')),
    jobs: jobsCopy as Record<string, JobConfig>,
  };
}

/**
 * A worker id becomes an object key and a lease owner: 1–128 characters that survive key
 * encoding unchanged (no lone surrogates), and no control characters (they end up in log lines).
 */
function checkWorkerId(value: unknown, where: Where): string {
  const id = checkString(value, where, {
    minLength: 1,
    maxLength: PLUGIN_LIMITS.workerIdLength,
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
    pattern: /^[^\u0000-\u001f\u007f]*$/,
    patternDescription: 'no control characters',
  });
  if (id.trim() === '' || decodeKeySegment(encodeKeySegment(id)) !== id) {
    throw invalidOption(
      where,
      value,
      'a printable id',
      'Use letters, digits and - _ . :, or leave it out for a generated id.',
    );
  }
  return id;
}

/**
 * `logger`: `undefined` is the console (without its `debug` lines), `null` silences the plugin, anything else must be an
 * object with `warn()` and `error()` (console, pino, winston and bunyan all qualify); a missing
 * `debug()` or `info()` is filled with a no-op. Calls keep the logger as `this` (pino needs it)
 * and never throw: a throwing logger must not turn a reported error into an unhandled rejection.
 */
function resolveLogger(value: unknown, where: Where): SafeLogger | null {
  if (value === null) return null;
  const logger = checkMethods<Record<string, unknown>>(
    value ?? console,
    ['warn', 'error'],
    where,
    'a logger',
  );
  // The method is looked up at each call, so a logger whose methods are replaced later (a test
  // spy, a level change) is honoured.
  const level =
    (name: keyof SafeLogger) =>
    (message: string): void => {
      try {
        const method = logger[name];
        // Lines carry error messages from anywhere (a store, an action): redacted and cut here.
        if (typeof method === 'function') method.call(logger, redactText(message));
      } catch {
        // A broken logger loses the line, not the process.
      }
    };
  // The implicit console has no levels: its debug lines (console.debug is console.log) would
  // flood stdout, so they are dropped; pass logger: console to see them.
  const silent = (): void => undefined;
  return {
    debug: value === undefined ? silent : level('debug'),
    info: level('info'),
    warn: level('warn'),
    error: level('error'),
  };
}
