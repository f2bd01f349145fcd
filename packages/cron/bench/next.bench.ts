import { CronExpressionParser } from 'cron-parser';
import { Cron } from 'croner';
import { bench, describe } from 'vitest';
import { parseCron } from '../src/index.js';
import { parseExpression } from '../src/parse-expression.js';

/**
 * `next()` throughput on a fixed mix of expressions and zones, side by side with raw cron-parser
 * (one parsed expression per job, `reset(date)` + `next()`) and croner (`nextRun(date)`), in the
 * same run. Vitest prints the ratios in its summary. Run: `pnpm --filter @s3-scheduler/cron bench`.
 */
const MIX: [expression: string, timezone: string][] = [
  ['*/5 * * * *', 'UTC'],
  ['0 3 * * *', 'America/New_York'],
  ['30 2 * * *', 'Europe/London'],
  ['0 */2 * * 1-5', 'Asia/Tokyo'],
  ['0 0 1 * *', 'Australia/Lord_Howe'],
  ['15 9 * * MON', 'America/Sao_Paulo'],
  ['0 0 L * *', 'Europe/Berlin'],
  ['*/10 * * * * *', 'UTC'],
  ['0 12 * * 5L', 'Pacific/Chatham'],
  ['0 * * * *', 'America/Santiago'],
  ['0 0 29 2 *', 'America/Los_Angeles'],
  ['45 23 * * 0', 'Asia/Kolkata'],
];

/** 512 fixed instants spread over 2024-2026 (a linear congruential sequence, so every run is the same). */
const INSTANTS: Date[] = [];
for (let i = 0, x = 12_345; i < 512; i++) {
  x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
  INSTANTS.push(new Date(Date.UTC(2024, 0, 1) + (x % (3 * 365 * 86_400)) * 1000));
}

const ours = MIX.map(([expression, timezone]) => parseCron(expression, { timezone }));
const parsers = MIX.map(([expression, timezone]) =>
  CronExpressionParser.parse(expression, { tz: timezone, currentDate: INSTANTS[0] }),
);
const croners = MIX.map(([expression, timezone]) => new Cron(expression, { timezone, paused: true }));

let cursor = 0;
function nextInstant(): Date {
  cursor = (cursor + 1) % INSTANTS.length;
  return INSTANTS[cursor]!;
}

let sink = 0;

function nextGroup(title: string, keep: (expression: string) => boolean): void {
  const picked = MIX.map((entry, index) => ({ entry, index })).filter(({ entry }) => keep(entry[0]));
  const oursPicked = picked.map(({ index }) => ours[index]!);
  const parsersPicked = picked.map(({ index }) => parsers[index]!);
  const cronersPicked = picked.map(({ index }) => croners[index]!);
  describe(`${title} (${picked.length} expressions x zones)`, () => {
    bench('@s3-scheduler/cron', () => {
      const at = nextInstant();
      for (const schedule of oursPicked) sink += schedule.next(at)!.getTime();
    });

    bench('cron-parser', () => {
      const at = nextInstant();
      for (const parser of parsersPicked) {
        parser.reset(at);
        sink += parser.next().getTime();
      }
    });

    bench('croner', () => {
      const at = nextInstant();
      for (const job of cronersPicked) sink += job.nextRun(at)?.getTime() ?? 0;
    });
  });
}

nextGroup('next(), whole mix', () => true);
// cron-parser walks day by day to a leap day (about 3 ms a call), which dominates the whole mix.
nextGroup('next(), mix without 0 0 29 2 *', (expression) => expression !== '0 0 29 2 *');

describe(`parse ${MIX.length} expressions x zones`, () => {
  // Jobs usually share expressions: parseCron reuses a parsed expression it has seen.
  bench('@s3-scheduler/cron parseCron (expression seen before)', () => {
    for (const [expression, timezone] of MIX) sink += parseCron(expression, { timezone }).isFixedTime ? 1 : 0;
  });

  bench('@s3-scheduler/cron first parse of an expression', () => {
    for (const [expression] of MIX) sink += parseExpression(expression, {}).isFixedTime ? 1 : 0;
  });

  bench('cron-parser parse', () => {
    for (const [expression, timezone] of MIX) {
      sink += CronExpressionParser.parse(expression, { tz: timezone }).fields.second.values.length;
    }
  });

  bench('croner new Cron', () => {
    for (const [expression, timezone] of MIX) {
      sink += new Cron(expression, { timezone, paused: true }).getPattern()?.length ?? 0;
    }
  });
});

export { sink };
