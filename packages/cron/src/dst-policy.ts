import { SchedulerError } from '@s3-scheduler/core';

/** What a schedule does with a wall time that a spring-forward transition skips. */
export type DstGap = 'shift' | 'skip';
/** Which occurrence(s) of a wall time that a fall-back transition repeats a schedule runs. */
export type DstOverlap = 'first' | 'last' | 'both';

/**
 * How a schedule treats daylight-saving (and any other) offset changes of its zone.
 * - `gap: 'shift'`: a matching wall time that does not exist runs once, at the first instant
 *   after the gap (02:30 on a New York spring-forward day runs at 03:00 EDT).
 * - `gap: 'skip'`: it does not run that day.
 * - `overlap: 'first' | 'last'`: a wall time that happens twice runs at its first (or last)
 *   occurrence only; `'both'`: it runs at each.
 */
export interface DstPolicy {
  readonly gap: DstGap;
  readonly overlap: DstOverlap;
}

/** Vixie cron / cronie, for schedules whose second, minute and hour have no `*`, `?` or step (lists and ranges allowed). */
export const FIXED_TIME_DST: DstPolicy = Object.freeze({ gap: 'shift', overlap: 'first' });
/** Vixie cron / cronie, for schedules with a `*`, `?` or step in second, minute or hour. */
export const INTERVAL_DST: DstPolicy = Object.freeze({ gap: 'skip', overlap: 'both' });

const GAPS: readonly string[] = ['shift', 'skip'];
const OVERLAPS: readonly string[] = ['first', 'last', 'both'];

/** The default for the kind of schedule, overridden field by field by `override`. */
export function resolveDstPolicy(isFixedTime: boolean, override: unknown, jobName?: string): DstPolicy {
  const base = isFixedTime ? FIXED_TIME_DST : INTERVAL_DST;
  if (override === undefined) return base;
  const prefix = jobName === undefined ? '' : `Job '${jobName}': `;
  if (override === null || typeof override !== 'object' || Array.isArray(override)) {
    throw invalidDst(`${prefix}option 'dst' must be an object`, override, jobName);
  }
  const { gap = base.gap, overlap = base.overlap, ...unknown } = override as Record<string, unknown>;
  const unknownKeys = Object.keys(unknown);
  if (unknownKeys.length > 0) {
    throw new SchedulerError(`${prefix}unknown 'dst' option '${unknownKeys[0]}'`, {
      code: 'UNKNOWN_OPTION',
      operation: 'parseCron',
      suggestion:
        "The 'dst' option takes only 'gap' ('shift' | 'skip') and 'overlap' ('first' | 'last' | 'both').",
      metadata: { option: 'dst', value: override, ...(jobName === undefined ? {} : { jobName }) },
    });
  }
  if (typeof gap !== 'string' || !GAPS.includes(gap)) {
    throw invalidDst(`${prefix}invalid dst.gap: ${String(gap)}`, override, jobName);
  }
  if (typeof overlap !== 'string' || !OVERLAPS.includes(overlap)) {
    throw invalidDst(`${prefix}invalid dst.overlap: ${String(overlap)}`, override, jobName);
  }
  return policyFor(gap as DstGap, overlap as DstOverlap);
}

/**
 * The six possible policies, created once: schedules share them instead of each holding its own
 * copy. The two defaults are among them, so an override equal to a default returns that default.
 */
const POLICIES: ReadonlyMap<string, DstPolicy> = new Map(
  GAPS.flatMap((gap) =>
    OVERLAPS.map((overlap): [string, DstPolicy] => {
      const known = [FIXED_TIME_DST, INTERVAL_DST].find((p) => p.gap === gap && p.overlap === overlap);
      return [
        `${gap}/${overlap}`,
        known ?? Object.freeze({ gap: gap as DstGap, overlap: overlap as DstOverlap }),
      ];
    }),
  ),
);

function policyFor(gap: DstGap, overlap: DstOverlap): DstPolicy {
  return POLICIES.get(`${gap}/${overlap}`)!;
}

function invalidDst(message: string, value: unknown, jobName: string | undefined): SchedulerError {
  return new SchedulerError(message, {
    code: 'INVALID_OPTION',
    operation: 'parseCron',
    suggestion:
      "Use dst: { gap: 'shift' | 'skip', overlap: 'first' | 'last' | 'both' }; both keys are optional.",
    metadata: { option: 'dst', value, ...(jobName === undefined ? {} : { jobName }) },
  });
}
