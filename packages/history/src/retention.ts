import { checkOptions } from '@s3-scheduler/core';
import { compareKeys } from '@s3-scheduler/storage';
import type { HistoryContext } from './history-context.js';
import { checkJob, integerOption } from './history-options.js';
import { type KeyLayout, olderDaysBound } from './keys.js';
import { ALL_LEGACY, ALL_SHARDED } from './layout-record.js';
import { type Instant, toMs } from './time.js';

export interface CleanupOptions {
  /** Delete every day partition that ends at or before this instant. */
  olderThan: Instant;
  /** Keys listed and deleted per batch (deletes of one batch run in parallel). Default 100. */
  batchSize?: number;
  /** Only these jobs. Default: every job found under the prefix. */
  jobs?: readonly string[];
}

export interface CleanupResult {
  /** Delete requests this call issued (keys another instance deleted first count too). */
  deleted: number;
  /** Day partitions (run and status index) emptied. */
  partitions: number;
  /** Jobs examined. */
  jobs: number;
}

const CLEANUP_KEYS = ['olderThan', 'batchSize', 'jobs'] as const;

/**
 * Deletes whole day partitions (runs and status index) that end at or before `olderThan`, in
 * batches of `batchSize` parallel deletes. Idempotent; two instances may run it at once.
 */
export async function cleanup(context: HistoryContext, options: CleanupOptions): Promise<CleanupResult> {
  checkOptions(options, CLEANUP_KEYS, { operation: 'history.cleanup', option: 'options' });
  const { keys } = context;
  const cutoff = toMs(options?.olderThan, 'olderThan');
  const batchSize = integerOption('batchSize', options.batchSize, 100, 1, 1000);
  if (options.jobs !== undefined) for (const job of options.jobs) checkJob(job);
  const shardedFrom = await context.layout.resolve();
  // A bucket that never had legacy runs never lists the legacy prefixes.
  const layouts: KeyLayout[] = [];
  if (shardedFrom !== ALL_LEGACY) layouts.push('sharded');
  if (shardedFrom !== ALL_SHARDED) layouts.push('legacy');
  const result: CleanupResult = { deleted: 0, partitions: 0, jobs: 0 };
  const jobs = new Set<string>();
  for (const layout of layouts) {
    const runsRoot = layout === 'sharded' ? keys.runsRoot : keys.legacyRunsRoot;
    const indexRoot = layout === 'sharded' ? keys.indexRoot : keys.legacyIndexRoot;
    let segments: string[];
    if (options.jobs === undefined) {
      const found = new Set<string>();
      for (const root of [runsRoot, indexRoot]) {
        for (const group of await commonPrefixes(context, root)) found.add(group.slice(root.length, -1));
      }
      segments = [...found].sort(compareKeys);
    } else {
      segments = options.jobs.map((job) => keys.jobSegment(job, layout));
    }
    for (const segment of segments) {
      // `<hh>-<job>` in the sharded layout: the job is what follows the shard.
      jobs.add(layout === 'sharded' ? segment.slice(3) : segment);
      const roots = [`${runsRoot}${segment}/`];
      roots.push(...(await commonPrefixes(context, `${indexRoot}${segment}/`)));
      for (const root of roots) {
        for (const day of await commonPrefixes(context, root, root + olderDaysBound(cutoff))) {
          result.deleted += await deleteAll(context, day, batchSize);
          result.partitions++;
        }
      }
    }
  }
  result.jobs = options.jobs === undefined ? jobs.size : options.jobs.length;
  return result;
}

async function commonPrefixes(
  context: HistoryContext,
  prefix: string,
  startAfter?: string,
): Promise<string[]> {
  const groups: string[] = [];
  let after = startAfter;
  for (;;) {
    const page = await context.store.list(prefix, {
      delimiter: '/',
      ...(after === undefined ? {} : { startAfter: after }),
    });
    groups.push(...page.commonPrefixes);
    if (page.nextStartAfter === undefined) return groups;
    after = page.nextStartAfter;
  }
}

async function deleteAll(context: HistoryContext, prefix: string, batchSize: number): Promise<number> {
  const { store } = context;
  let deleted = 0;
  let startAfter: string | undefined;
  for (;;) {
    const page = await store.list(prefix, {
      limit: batchSize,
      ...(startAfter === undefined ? {} : { startAfter }),
    });
    await Promise.all(page.objects.map((object) => store.delete(object.key)));
    deleted += page.objects.length;
    if (page.nextStartAfter === undefined) return deleted;
    startAfter = page.nextStartAfter;
  }
}
