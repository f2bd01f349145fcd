import cronstrue from 'cronstrue';

/**
 * A cron expression in words ("At 09:00, Monday through Friday"), with cronstrue: the cron
 * package parses and evaluates schedules but has no describer. `null` schedules (jobs run only
 * on demand) and expressions cronstrue cannot read get a plain fallback, never an error.
 */
export function scheduleInWords(schedule: string | null): string {
  if (schedule === null) return 'On demand only';
  try {
    return cronstrue.toString(schedule, { use24HourTimeFormat: true, throwExceptionOnParseError: true });
  } catch {
    return schedule;
  }
}
