import { type ErrorContext, invalidCron } from './errors.js';
import { FieldSyntaxError, parseFields, startsWithWildcard } from './parse-fields.js';
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

/**
 * Validates an expression once and compiles it into a `WallMatcher` (a few bitmasks). The grammar
 * is Vixie cron's with the common extensions (see `parseFields`); we add what a scheduler needs on
 * top: exactly 5 or 6 fields, Vixie's presets (with `@midnight`), no `H` (each instance would hash
 * its own value), and a check that the expression can fire at all.
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
    // A seventh field would be Quartz's or croner's year: refused rather than read as something else.
    const year = fields.length === 7 ? ' (a year field is not supported)' : '';
    throw invalidCron(
      expression,
      `expected 5 or 6 fields, got ${fields.length}${year}`,
      FIELD_COUNT_HELP,
      context,
      { fieldCount: fields.length },
    );
  }
  if (fields.length === 5) fields.unshift('0');
  let matcher: WallMatcher;
  try {
    matcher = new WallMatcher(parseFields(fields), fields.slice(0, 3).every(isFixedTimeField));
  } catch (error) {
    if (!(error instanceof FieldSyntaxError)) throw error;
    throw invalidCron(expression, error.reason, error.suggestion, context, {
      field: FIELD_NAMES[error.fieldIndex],
    });
  }
  if (!matcher.canFire()) throw neverFires(expression, fields, matcher, context);
  return matcher;
}

/**
 * A second, minute or hour field of a fixed-time schedule: no `*`, `?` or step, so one value, a
 * list or a range (`0 1-3 * * *` runs at 01:00, 02:00 and 03:00, fixed wall times). Vixie cron
 * (`cron.c`) and cronie treat a job as fixed-time when neither minute nor hour begins with `*`;
 * a step (`0-59/5`) is read as an interval here too, as the issue of record asks.
 */
function isFixedTimeField(field: string): boolean {
  for (let index = 0; index < field.length; index++) {
    const code = field.charCodeAt(index);
    if (code === 42 /* * */ || code === 63 /* ? */ || code === 47 /* / */) return false;
  }
  return true;
}

/**
 * The error for an expression that can never fire under the day rule: a day of month that no
 * allowed month has (`0 0 30 2 *`), or, with a day field that begins with `*` (Vixie's AND), no
 * day that matches both fields (`0 0 LW * 0` with day-of-week written as a step over `*`: the last weekday is never a Sunday).
 */
function neverFires(expression: string, fields: string[], matcher: WallMatcher, context: ErrorContext) {
  const [, , , dom, month, dow] = fields as [string, string, string, string, string, string];
  const months = month === '*' || month === '?' ? 'any month' : `month ${month}`;
  // Name the field that made the day fields combine with AND, unless it is a plain `*`.
  const star =
    startsWithWildcard(dow) && dow !== '*' && dow !== '?'
      ? ['day-of-week', dow]
      : startsWithWildcard(dom) && dow !== '*' && dow !== '?'
        ? ['day-of-month', dom]
        : undefined;
  const and =
    star === undefined
      ? ''
      : ` (${star[0]} '${star[1]}' begins with *, so a day must match both day fields, as in Vixie cron)`;
  if (!matcher.domCanMatch()) {
    return invalidCron(
      expression,
      `it can never fire: day ${dom} does not exist in ${months}${and}`,
      'Pick days that exist in the chosen months (April, June, September and November have 30 days, February 29 in leap years), or use L for the last day of the month.',
      context,
      { field: 'day-of-month' },
    );
  }
  return invalidCron(
    expression,
    `it can never fire: no day of ${months} matches both day-of-month '${dom}' and day-of-week '${dow}'${and}`,
    'Write both day fields without a leading * to run on days matching either of them, or choose days of month that can fall on those weekdays.',
    context,
    { field: 'day-of-week' },
  );
}
