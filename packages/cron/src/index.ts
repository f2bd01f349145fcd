export {
  type CronSchedule,
  type CronScheduleJSON,
  isValidTimezone,
  type ParseCronOptions,
  parseCron,
  validateCron,
} from './cron-schedule.js';
export type { DstGap, DstOverlap, DstPolicy } from './dst-policy.js';
