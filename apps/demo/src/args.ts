import { EXTRA_JOBS } from './jobs.js';

/** Everything the demo can be told on the command line. Times are relative to the cluster start. */
export interface DemoOptions {
  instances: number;
  /** Run this long, then print the summary; `undefined` runs until `q` / Ctrl+C. */
  durationMs: number | undefined;
  store: string;
  /** One OS process per instance (needs an `s3://` store). */
  processes: boolean;
  heartbeatMs: number;
  coldStartMs: number;
  killLeaderAt: number[];
  pauseAt: number[];
  pauseForMs: number;
  triggers: Array<{ job: string; atMs: number }>;
  addJobs: Array<{ job: string; atMs: number }>;
  json: boolean;
  /** Plain lines even on a TTY. */
  plain: boolean;
  help: boolean;
}

/**
 * A plain run (no terminal, `--plain` or `--json`) without any scripted fault kills the leader
 * once at this share of its duration, so its output shows a hand-over; `--no-faults` turns it off.
 */
export const DEFAULT_KILL_SHARE = 0.4;

export const DEFAULTS = {
  instances: 3,
  store: 'memory://default/scheduler',
  heartbeatMs: 1000,
  coldStartMs: 1500,
  pauseForMs: 5000,
  /** Without a TTY nobody can press `q`, so the demo ends by itself. */
  nonInteractiveDurationMs: 20_000,
} as const;

export const USAGE = `Usage: npm run demo -- [options]        (or: pnpm --filter @s3-scheduler/demo start -- [options])

Three scheduler instances share one bucket; watch who leads, what runs where, and the hand-over.

Options:
  --instances <n>          instances in the cluster (default ${DEFAULTS.instances})
  --duration <time>        run this long, then print the summary (default: until q / Ctrl+C on a
                           terminal, ${DEFAULTS.nonInteractiveDurationMs / 1000}s otherwise)
  --store <url>            memory://bucket/prefix (default ${DEFAULTS.store}) or
                           s3://key:secret@bucket/prefix?endpoint=…&region=…&forcePathStyle=true
                           (every run writes under a fresh sub-prefix demo-<time>-<id>/)
  --processes              one OS process per instance (needs --store s3://…: the memory store
                           lives inside one process and cannot be shared)
  --kill-leader-at <time>  crash the leader at this time (repeatable)
  --pause-at <time>        freeze the leader at this time (repeatable), for --pause-for
  --pause-for <time>       how long a pause lasts (default ${DEFAULTS.pauseForMs / 1000}s)
  --trigger <job>@<time>   run a job by hand at this time (repeatable)
  --add-job <job>@<time>   add one of: ${Object.keys(EXTRA_JOBS).join(', ')} (repeatable)
  --heartbeat <time>       heartbeat interval (default ${DEFAULTS.heartbeatMs}ms; the leader lease is 3×)
  --cold-start <time>      cold-start observation window (default ${DEFAULTS.coldStartMs}ms)
  --json                   print the summary as JSON on stdout (everything else goes to stderr)
  --plain                  plain lines even on a terminal
  --no-faults              no default leader kill in a plain run (see below)
  -h, --help               this text

Times: 500ms, 10s, 2m, or a bare number of seconds. At-times count from the start of the cluster.
Without a terminal (or with --plain/--json) and without --kill-leader-at/--pause-at, the leader is
killed once at 40% of the duration, so the output shows a hand-over (--no-faults: none).
Keys (on a terminal): k kill the leader · p pause the leader · a add a job · t trigger a job · q quit

Exit status: 0 when no slot ran twice and none was missed, 1 otherwise, 2 for bad arguments.`;

export class UsageError extends Error {
  override name = 'UsageError';
}

/** `500ms`, `1.5s`, `2m`, `10` (seconds) → milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!match) throw new UsageError(`${flag}: '${text}' is not a time such as 500ms, 10s or 2m`);
  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  return Math.round(value * (unit === 'ms' ? 1 : unit === 's' ? 1000 : 60_000));
}

function parseJobAt(text: string, flag: string): { job: string; atMs: number } {
  const at = text.lastIndexOf('@');
  if (at <= 0) throw new UsageError(`${flag}: expected <job>@<time>, such as daily_report@8s; got '${text}'`);
  return { job: text.slice(0, at), atMs: parseDuration(text.slice(at + 1), flag) };
}

export function parseArgs(argv: readonly string[], isTTY: boolean): DemoOptions {
  const options: DemoOptions = {
    instances: DEFAULTS.instances,
    durationMs: undefined,
    store: DEFAULTS.store,
    processes: false,
    heartbeatMs: DEFAULTS.heartbeatMs,
    coldStartMs: DEFAULTS.coldStartMs,
    killLeaderAt: [],
    pauseAt: [],
    pauseForMs: DEFAULTS.pauseForMs,
    triggers: [],
    addJobs: [],
    json: false,
    plain: false,
    help: false,
  };
  let faults = true;
  const args = [...argv];
  // `pnpm start -- --flag` passes the `--` through on some versions.
  while (args[0] === '--') args.shift();
  for (let i = 0; i < args.length; i++) {
    const raw = args[i]!;
    if (raw === '--') continue;
    const eq = raw.indexOf('=');
    const flag = raw.startsWith('--') && eq > 0 ? raw.slice(0, eq) : raw;
    const inline = raw.startsWith('--') && eq > 0 ? raw.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = args[++i];
      if (next === undefined) throw new UsageError(`${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case '--instances': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1 || n > 26)
          throw new UsageError('--instances must be a whole number from 1 to 26');
        options.instances = n;
        break;
      }
      case '--duration':
        options.durationMs = parseDuration(value(), flag);
        break;
      case '--store':
        options.store = value();
        break;
      case '--processes':
        options.processes = true;
        break;
      case '--kill-leader-at':
        options.killLeaderAt.push(parseDuration(value(), flag));
        break;
      case '--pause-at':
        options.pauseAt.push(parseDuration(value(), flag));
        break;
      case '--pause-for':
        options.pauseForMs = parseDuration(value(), flag);
        break;
      case '--trigger':
        options.triggers.push(parseJobAt(value(), flag));
        break;
      case '--add-job': {
        const added = parseJobAt(value(), flag);
        if (!(added.job in EXTRA_JOBS)) {
          throw new UsageError(
            `--add-job: unknown job '${added.job}'; choose one of ${Object.keys(EXTRA_JOBS).join(', ')}`,
          );
        }
        options.addJobs.push(added);
        break;
      }
      case '--heartbeat':
        options.heartbeatMs = parseDuration(value(), flag);
        if (options.heartbeatMs < 100) throw new UsageError('--heartbeat must be at least 100ms');
        break;
      case '--cold-start':
        options.coldStartMs = parseDuration(value(), flag);
        break;
      case '--json':
        options.json = true;
        break;
      case '--plain':
        options.plain = true;
        break;
      case '--no-faults':
        faults = false;
        break;
      case '-h':
      case '--help':
        options.help = true;
        break;
      default:
        throw new UsageError(`Unknown option '${raw}' (see --help)`);
    }
  }
  if (options.durationMs === undefined && !isTTY) options.durationMs = DEFAULTS.nonInteractiveDurationMs;
  const plain = !isTTY || options.plain || options.json;
  if (
    faults &&
    plain &&
    options.durationMs !== undefined &&
    options.killLeaderAt.length === 0 &&
    options.pauseAt.length === 0
  ) {
    options.killLeaderAt.push(Math.round(options.durationMs * DEFAULT_KILL_SHARE));
  }
  if (options.processes && !options.store.startsWith('s3://')) {
    throw new UsageError(
      '--processes needs --store s3://…: the memory store lives inside one process, so separate processes cannot share it',
    );
  }
  return options;
}
