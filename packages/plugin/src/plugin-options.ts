import { type Clock, SchedulerError, systemClock } from '@s3-scheduler/core';
import { timezoneError } from '@s3-scheduler/cron';
import type { ObjectStore } from '@s3-scheduler/storage';
import type { SchedulerPluginOptions } from './types.js';
import { checkKnownKeys, checkNonNegativeInteger, checkOptionalString } from './validate.js';

const PLUGIN_KEYS = [
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
  'coldStartObservationWindow',
  'skipColdStart',
  'connectionString',
  'store',
  'workerId',
  'clock',
  'stopTimeout',
  'database',
  'logger',
  'keyPrefix',
] as const;

export const PLUGIN_DEFAULTS = {
  enabled: true,
  timezone: 'UTC',
  maxConcurrentJobs: 5,
  persistJobs: true,
  historyResource: 'plg:scheduler:job-history',
  cleanupInterval: 86_400_000,
  historyRetention: 2_592_000_000,
  enableCoordinator: true,
  heartbeatInterval: 30_000,
  coldStartObservationWindow: 15_000,
  skipColdStart: false,
  connectionString: 'memory://default/scheduler',
  stopTimeout: 30_000,
  keyPrefix: 'plugin=scheduler/',
} as const;

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
  /** `undefined`: the coordinator's default (half the lease, at most a heartbeat). */
  leaseCheckInterval: number | undefined;
  coldStartObservationWindow: number;
  skipColdStart: boolean;
  connectionString: string;
  store: ObjectStore | undefined;
  keyPrefix: string;
  workerId: string | undefined;
  clock: Clock;
  stopTimeout: number;
  database: unknown;
  logger: Pick<Console, 'warn' | 'error'> | null;
}

/** Validates the plugin options where the user wrote them; jobs are validated separately. */
export function resolvePluginOptions(input: unknown): ResolvedPluginOptions {
  const operation = 'validateConfiguration';
  if (input !== undefined && (typeof input !== 'object' || input === null)) {
    throw new SchedulerError('SchedulerPlugin options must be an object', {
      code: 'INVALID_OPTION',
      operation,
      metadata: { value: typeof input },
      suggestion: 'Call new SchedulerPlugin({ jobs: { … } }).',
    });
  }
  const options = (input ?? {}) as SchedulerPluginOptions & { keyPrefix?: string };
  checkKnownKeys(options as Record<string, unknown>, PLUGIN_KEYS, 'SchedulerPlugin options', operation);
  const timezone = checkOptionalString(options.timezone, 'timezone', operation) ?? PLUGIN_DEFAULTS.timezone;
  // The cron package's check, so the wording (with "did you mean") matches a job's own zone.
  const zoneError = timezoneError(timezone, { operation, option: 'timezone' });
  if (zoneError !== null) throw zoneError;
  const maxConcurrentJobs = checkNonNegativeInteger(
    options.maxConcurrentJobs ?? PLUGIN_DEFAULTS.maxConcurrentJobs,
    'maxConcurrentJobs',
    operation,
  );
  if (maxConcurrentJobs === 0) {
    throw new SchedulerError("'maxConcurrentJobs' must be at least 1", {
      code: 'INVALID_OPTION',
      operation,
      metadata: { option: 'maxConcurrentJobs', value: 0 },
      suggestion: 'Set maxConcurrentJobs to 1 or more (default 5).',
    });
  }
  const heartbeatInterval = checkNonNegativeInteger(
    options.heartbeatInterval ?? PLUGIN_DEFAULTS.heartbeatInterval,
    'heartbeatInterval',
    operation,
  );
  if (heartbeatInterval < 10) {
    throw new SchedulerError("'heartbeatInterval' must be at least 10 ms", {
      code: 'INVALID_OPTION',
      operation,
      metadata: { option: 'heartbeatInterval', value: heartbeatInterval },
      suggestion: 'Use the default 30000, or a few seconds for fast failover.',
    });
  }
  const store = options.store;
  if (
    store !== undefined &&
    (typeof store !== 'object' || store === null || typeof store.put !== 'function')
  ) {
    throw new SchedulerError("'store' must be an ObjectStore", {
      code: 'INVALID_OPTION',
      operation,
      metadata: { option: 'store', value: typeof store },
      suggestion: 'Pass a MemoryStore, an S3Store, or use connectionString instead.',
    });
  }
  return {
    enabled: checkBooleanOption(options.enabled, 'enabled', PLUGIN_DEFAULTS.enabled),
    timezone,
    maxConcurrentJobs,
    persistJobs: checkBooleanOption(options.persistJobs, 'persistJobs', PLUGIN_DEFAULTS.persistJobs),
    historyResource:
      checkOptionalString(options.historyResource, 'historyResource', operation) ??
      PLUGIN_DEFAULTS.historyResource,
    cleanupInterval: checkNonNegativeInteger(
      options.cleanupInterval ?? PLUGIN_DEFAULTS.cleanupInterval,
      'cleanupInterval',
      operation,
    ),
    historyRetention: checkNonNegativeInteger(
      options.historyRetention ?? PLUGIN_DEFAULTS.historyRetention,
      'historyRetention',
      operation,
    ),
    enableCoordinator: checkBooleanOption(
      options.enableCoordinator,
      'enableCoordinator',
      PLUGIN_DEFAULTS.enableCoordinator,
    ),
    heartbeatInterval,
    ...leaseOptions(options, heartbeatInterval, operation),
    coldStartObservationWindow: checkNonNegativeInteger(
      options.coldStartObservationWindow ?? PLUGIN_DEFAULTS.coldStartObservationWindow,
      'coldStartObservationWindow',
      operation,
    ),
    skipColdStart: checkBooleanOption(options.skipColdStart, 'skipColdStart', PLUGIN_DEFAULTS.skipColdStart),
    connectionString:
      checkOptionalString(options.connectionString, 'connectionString', operation) ??
      PLUGIN_DEFAULTS.connectionString,
    store,
    keyPrefix: checkOptionalString(options.keyPrefix, 'keyPrefix', operation) ?? PLUGIN_DEFAULTS.keyPrefix,
    workerId: checkOptionalString(options.workerId, 'workerId', operation),
    clock: options.clock ?? systemClock,
    stopTimeout: checkNonNegativeInteger(
      options.stopTimeout ?? PLUGIN_DEFAULTS.stopTimeout,
      'stopTimeout',
      operation,
    ),
    database: options.database ?? null,
    logger: options.logger === undefined ? console : options.logger,
  };
}

/**
 * The leader lease and the successor's check interval (ms), checked here so a mistake surfaces in
 * the constructor rather than at `start()`: a lease of at least 100 ms (renewed every half lease),
 * a check interval from 10 ms up to `heartbeatInterval`.
 */
function leaseOptions(
  options: SchedulerPluginOptions,
  heartbeatInterval: number,
  operation: string,
): { leaseDuration: number | undefined; leaseCheckInterval: number | undefined } {
  const leaseDuration =
    options.leaseDuration === undefined
      ? undefined
      : checkNonNegativeInteger(options.leaseDuration, 'leaseDuration', operation);
  if (leaseDuration !== undefined && leaseDuration < 100) {
    throw new SchedulerError("'leaseDuration' must be at least 100 ms", {
      code: 'INVALID_OPTION',
      operation,
      metadata: { option: 'leaseDuration', value: leaseDuration },
      suggestion: 'Use the default 12000 (failover in about 11 s), or a few seconds for faster failover.',
    });
  }
  const leaseCheckInterval =
    options.leaseCheckInterval === undefined
      ? undefined
      : checkNonNegativeInteger(options.leaseCheckInterval, 'leaseCheckInterval', operation);
  if (
    leaseCheckInterval !== undefined &&
    (leaseCheckInterval < 10 || leaseCheckInterval > heartbeatInterval)
  ) {
    throw new SchedulerError(
      `'leaseCheckInterval' must be between 10 ms and heartbeatInterval (${heartbeatInterval} ms)`,
      {
        code: 'INVALID_OPTION',
        operation,
        metadata: { option: 'leaseCheckInterval', value: leaseCheckInterval },
        suggestion: 'Leave it out (half the lease), or pass heartbeatInterval to turn the checks off.',
      },
    );
  }
  return { leaseDuration, leaseCheckInterval };
}

function checkBooleanOption(value: unknown, option: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  throw new SchedulerError(`Option '${option}' must be true or false, got ${JSON.stringify(value)}`, {
    code: 'INVALID_OPTION',
    operation: 'validateConfiguration',
    metadata: { option, value },
    suggestion: `Set ${option}: true or ${option}: false.`,
  });
}
