import type { SchedulerError } from '@s3-scheduler/core';
import { CronExpressionParser } from 'cron-parser';
import { type ErrorContext, FIELD_RANGES, invalidCron } from './errors.js';
import { masksFromCronParser } from './field-masks.js';
import { parseSimpleFields } from './simple-fields.js';
import { WallMatcher } from './wall-matcher.js';

/** The presets we accept, as 5-field expressions (Vixie cron's set). */
export const PRESETS: Readonly<Record<string, string>> = Object.freeze({
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
});

const FIELD_NAMES = ['second', 'minute', 'hour', 'day-of-month', 'month', 'day-of-week'] as const;
const FIELD_COUNT_HELP =
  "Use 5 fields (minute hour day-of-month month day-of-week), 6 with seconds first, or a preset: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly. Example: '0 3 * * *' runs daily at 03:00.";

/** Longer expressions skip the fast path (cron-parser rejects those over 1,024 characters). */
const FAST_PATH_MAX_LENGTH = 1000;

/**
 * Validates an expression once and compiles it into a `WallMatcher` (a few bitmasks). cron-parser
 * defines the grammar (names, lists, ranges, steps, `?`, `L`, `#`, `7` as Sunday); we add what a
 * scheduler needs on top: exactly 5 or 6 fields, Vixie's presets (with `@midnight`), no `H` (each
 * instance would hash its own value), and a check that the expression can fire at all.
 *
 * Expressions of plain numbers, names, lists, ranges and steps (nearly all in practice) take
 * `parseSimpleFields`, which gives the same result as cron-parser for that subset in a fraction of
 * the time; everything else, and every error, goes through cron-parser as before.
 */
export function parseExpression(expression: unknown, context: ErrorContext): WallMatcher {
  if (typeof expression !== 'string') {
    throw invalidCron(
      expression,
      `an expression must be a string, got ${expression === null ? 'null' : typeof expression}`,
      "Pass a cron expression such as '0 3 * * *' or a preset such as '@daily'.",
      context,
    );
  }
  const trimmed = expression.trim();
  if (trimmed.length === 0) {
    throw invalidCron(expression, 'the expression is empty', FIELD_COUNT_HELP, context);
  }
  let source = trimmed;
  if (source.startsWith('@')) {
    const preset = PRESETS[source.toLowerCase()];
    if (preset === undefined) {
      throw invalidCron(expression, `unknown preset ${source}`, FIELD_COUNT_HELP, context);
    }
    source = preset;
  }
  const fields = source.split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) {
    throw invalidCron(expression, `expected 5 or 6 fields, got ${fields.length}`, FIELD_COUNT_HELP, context, {
      fieldCount: fields.length,
    });
  }
  if (fields.length === 5) fields.unshift('0');
  const isFixedTime = fields.slice(0, 3).every((field) => FIXED_FIELD.test(field));
  if (source.length <= FAST_PATH_MAX_LENGTH) {
    const masks = parseSimpleFields(fields);
    if (masks !== null) {
      const matcher = new WallMatcher(masks, isFixedTime);
      if (matcher.canFire()) return matcher;
    }
  }
  checkUnsupported(expression, fields, context);

  let parsed: ReturnType<typeof CronExpressionParser.parse>;
  try {
    parsed = CronExpressionParser.parse(fields.join(' '), { currentDate: 0, tz: 'UTC' });
  } catch (error) {
    throw describeParserError(expression, fields, error, context);
  }
  const matcher = new WallMatcher(masksFromCronParser(parsed.fields), isFixedTime);
  checkCanFire(expression, matcher, fields, context);
  return matcher;
}

/** A second, minute or hour field of a fixed-time schedule: one value or a list of values. */
const FIXED_FIELD = /^\d+(,\d+)*$/;

function checkUnsupported(expression: string, fields: string[], context: ErrorContext): void {
  fields.forEach((field, index) => {
    // Month and weekday names may contain an H or a W (THU, WED); strip them first.
    const bare = field.replace(/[a-z]{3}/gi, '');
    if (/H/.test(bare)) {
      throw invalidCron(
        expression,
        `hashed values (H) are not supported (${FIELD_NAMES[index]} field '${field}'): every scheduler instance would hash its own value`,
        'Write the value explicitly, for example 17 instead of H.',
        context,
        { field: FIELD_NAMES[index] },
      );
    }
    if (/W/.test(bare)) {
      throw invalidCron(
        expression,
        `W (nearest weekday) is not supported (${FIELD_NAMES[index]} field '${field}')`,
        'Use L for the last day of the month, a day-of-week range such as 1-5, or an explicit list of days.',
        context,
        { field: FIELD_NAMES[index] },
      );
    }
  });
}

/** Names the field cron-parser objected to, by parsing each field alone. */
function describeParserError(
  expression: string,
  fields: string[],
  error: unknown,
  context: ErrorContext,
): SchedulerError {
  const detail = error instanceof Error ? error.message : String(error);
  for (let index = 0; index < 6; index++) {
    const probe = fields.map((field, other) => (other === index ? field : other === 0 ? '0' : '*'));
    try {
      CronExpressionParser.parse(probe.join(' '), { currentDate: 0, tz: 'UTC' });
    } catch {
      return invalidCron(
        expression,
        `${FIELD_NAMES[index]} field '${fields[index]}': ${detail}`,
        `Each field must stay within its range: ${FIELD_RANGES}.`,
        context,
        { field: FIELD_NAMES[index] },
        error,
      );
    }
  }
  if (/day of month/i.test(detail)) return neverFires(expression, fields, context, error);
  return invalidCron(expression, detail, `Fields and ranges: ${FIELD_RANGES}.`, context, {}, error);
}

/**
 * Rejects an expression that can never fire: a day of month that no allowed month has, with the
 * day of week unrestricted (`0 0 30 2 *`, `0 0 31 4,6 *`). When both day fields are restricted
 * cron combines them with OR, so `0 0 30 2 1` is valid: it fires on the Mondays of February.
 */
function checkCanFire(
  expression: string,
  matcher: WallMatcher,
  fields: string[],
  context: ErrorContext,
): void {
  if (!matcher.canFire()) {
    throw neverFires(expression, fields, context);
  }
}

function neverFires(expression: string, fields: string[], context: ErrorContext, cause?: unknown) {
  const months = fields[4] === '*' ? 'any month' : `month ${fields[4]}`;
  return invalidCron(
    expression,
    `it can never fire: day ${fields[3]} does not exist in ${months}`,
    'Pick days that exist in the chosen months (April, June, September and November have 30 days, February 29 in leap years), or use L for the last day of the month.',
    context,
    { field: 'day-of-month' },
    cause,
  );
}
