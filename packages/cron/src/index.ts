export {
  type CronSchedule,
  type CronScheduleJSON,
  isValidTimezone,
  type ParseCronOptions,
  parseCron,
  timezoneError,
  validateCron,
} from './cron-schedule.js';
export type { DstGap, DstOverlap, DstPolicy } from './dst-policy.js';
export { zonedInstant } from './zoned-instant.js';
