import { hostname } from 'node:os';
import { type Clock, isSchedulerError, SchedulerError, systemClock } from '@s3-scheduler/core';
import { runDashboardCommand } from '@s3-scheduler/dashboard';
import {
  ClusterReadModel,
  type ClusterStatus,
  deleteRequest,
  type OperatorRequest,
  readRequest,
  submitRequest,
} from '@s3-scheduler/plugin';
import { connect, type ObjectStore } from '@s3-scheduler/storage';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { createSpinner } from 'nanospinner';
import pc from 'picocolors';
import { EXIT_CODES, type ExitCode, exitCodeOf } from './exit-codes.js';
import { msText, Renderer } from './render.js';
import { ansi, type FrameEvent, renderFrame } from './view/frame.js';
import { statusEvents, statusFrame } from './view/status-frame.js';

/** Where the CLI writes and what it reads from its environment; tests pass their own. */
export interface CliIo {
  /** `columns` and `rows` size `watch`'s frame on a TTY (default 80×24). */
  stdout: { write(text: string): unknown; isTTY?: boolean; columns?: number; rows?: number };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  env: Record<string, string | undefined>;
  /** Use this store instead of opening `--store` (in-process use, tests with a memory store). */
  store?: ObjectStore;
  /** Default the system clock: "now", and the waits between polls. */
  clock?: Clock;
  /** Ends `watch` (Ctrl-C in the bin). */
  signal?: AbortSignal;
}

interface GlobalOptions {
  store?: string;
  json?: boolean;
  color?: boolean;
  historyResource?: string;
  keyPrefix?: string;
}

const STORE_ENV = 'S3_SCHEDULER_STORE';

/**
 * Runs the `s3-scheduler` command line on `argv` (without `node` and the script) and resolves
 * with the exit code (see `EXIT_CODES`). Never throws, never calls `process.exit`.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const clock = io.clock ?? systemClock;
  let exitCode: ExitCode = EXIT_CODES.OK;
  let json = argv.includes('--json');
  const program = new Command('s3-scheduler');
  const colorsFor = (options: GlobalOptions) =>
    pc.createColors(
      options.color !== false && io.stdout.isTTY === true && !io.env.NO_COLOR && io.env.TERM !== 'dumb',
    );
  const out = (text: string) => io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  const printJson = (value: unknown) => out(JSON.stringify(value, null, 2));

  let storePromise: Promise<ClusterReadModel> | undefined;
  const model = (options: GlobalOptions, writes: boolean): Promise<ClusterReadModel> => {
    storePromise ??= (async () => {
      const readOptions = {
        clock,
        ...(options.historyResource ? { historyResource: options.historyResource } : {}),
        ...(options.keyPrefix ? { keyPrefix: options.keyPrefix } : {}),
      };
      if (io.store) return new ClusterReadModel(io.store, readOptions);
      const connection = options.store ?? io.env[STORE_ENV];
      if (!connection) {
        throw new SchedulerError('No store given', {
          code: 'INVALID_CONNECTION_STRING',
          operation: 'cli',
          metadata: { option: '--store', env: STORE_ENV },
          suggestion: `Pass --store 's3://key:secret@bucket/prefix?endpoint=…' or set ${STORE_ENV} (the same connection string the app's plugin uses).`,
        });
      }
      // Reading needs no conditional writes; commands that write (pause, requests) probe first,
      // as the plugin does, so a store that ignores conditions is refused.
      const store = await connect(connection, { unsafeSkipProbe: !writes, clock });
      return new ClusterReadModel(store, readOptions);
    })();
    return storePromise;
  };

  program
    .description(
      'Operate an s3-scheduler cluster from its bucket: status, jobs, history, pause, trigger, backfill.',
    )
    .option('-s, --store <connection>', `connection string of the cluster's store (default: $${STORE_ENV})`)
    .option(
      '--key-prefix <prefix>',
      "the plugin's keyPrefix, when the connection string names the bare bucket",
    )
    .option('--history-resource <name>', "the plugin's historyResource, when not the default")
    .option('--json', 'print JSON for scripts instead of tables')
    .option('--no-color', 'no colours (also off when not a TTY, or with NO_COLOR)')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => write(text),
    });

  const globals = (command: Command): GlobalOptions => command.optsWithGlobals() as GlobalOptions;
  const action =
    <A extends unknown[]>(run: (...args: A) => Promise<ExitCode | undefined>) =>
    async (...args: A) => {
      exitCode = (await run(...args)) ?? EXIT_CODES.OK;
    };

  program
    .command('status')
    .description('leader, epoch, live workers, and the jobs due soonest with last status and running runs')
    .addOption(
      new Option('--jobs <n>', 'how many jobs to show (the rest: `jobs`)').default(20).argParser(positiveInt),
    )
    .action(
      action(async (options: { jobs: number }, command: Command) => {
        const g = globals(command);
        const status = await (await model(g, false)).status({ jobLimit: options.jobs });
        if (g.json) printJson(status);
        else out(new Renderer(colorsFor(g)).status(status, clock.now()));
        return undefined;
      }),
    );

  program
    .command('jobs')
    .description('every job of the cluster: schedule, zone, next run, pause state')
    .action(
      action(async (_options: unknown, command: Command) => {
        const g = globals(command);
        const { jobs, catalogPublishedAt } = await (await model(g, false)).jobs();
        if (g.json) printJson({ jobs, catalogPublishedAt });
        else out(new Renderer(colorsFor(g)).jobs(jobs, clock.now()));
        return undefined;
      }),
    );

  program
    .command('describe')
    .description("everything about one job, as the plugin's describe() returns it")
    .argument('<job>', 'job name')
    .addOption(new Option('--next <n>', 'next runs to show').default(5).argParser(positiveInt))
    .addOption(new Option('--recent <n>', 'recent runs to show').default(10).argParser(positiveInt))
    .action(
      action(async (job: string, options: { next: number; recent: number }, command: Command) => {
        const g = globals(command);
        const described = await (await model(g, false)).describe(job, {
          count: options.next,
          recent: options.recent,
        });
        if (g.json) printJson(described);
        else out(new Renderer(colorsFor(g)).describe(described, clock.now()));
        return undefined;
      }),
    );

  program
    .command('history')
    .description("a job's runs, newest first (constant cost: 1 list + 1 read per run shown)")
    .argument('<job>', 'job name')
    .addOption(
      new Option('--status <status>', 'only runs in this status').choices([
        'running',
        'completed',
        'success',
        'failed',
        'timeout',
        'skipped',
        'cancelled',
        'abandoned',
      ]),
    )
    .addOption(new Option('--limit <n>', 'runs per page (1–1000)').default(20).argParser(positiveInt))
    .option('--before <instant>', 'only runs strictly before this ISO instant', instant)
    .option('--after <instant>', 'only runs strictly after this ISO instant', instant)
    .option('--cursor <cursor>', 'the cursor printed with the previous page')
    .action(
      action(
        async (
          job: string,
          options: { status?: string; limit: number; before?: string; after?: string; cursor?: string },
          command: Command,
        ) => {
          const g = globals(command);
          const m = await model(g, false);
          await m.job(job); // JOB_NOT_FOUND rather than an empty page for a typo
          const page = await m.runs(job, { ...options, limit: Math.min(options.limit, 1000) });
          if (g.json) printJson(page);
          else {
            out(new Renderer(colorsFor(g)).history(page.runs));
            if (page.cursor) out(`more: --cursor ${page.cursor}`);
          }
          return undefined;
        },
      ),
    );

  program
    .command('pause')
    .description('pause a job cluster-wide (the leader takes it up within a heartbeat)')
    .argument('<job>', 'job name')
    .option('--note <text>', 'why, shown by status and describe', 'Paused from the s3-scheduler CLI')
    .action(
      action(async (job: string, options: { note: string }, command: Command) => {
        const g = globals(command);
        const m = await model(g, true);
        await m.job(job);
        await m.pause(job, options.note);
        if (g.json) printJson({ job, paused: true, note: options.note });
        else out(`Paused ${job}: ${options.note}`);
        return undefined;
      }),
    );

  program
    .command('resume')
    .description('end a pause (and reset the failure streak)')
    .argument('<job>', 'job name')
    .action(
      action(async (job: string, _options: unknown, command: Command) => {
        const g = globals(command);
        const m = await model(g, true);
        await m.job(job);
        await m.resume(job);
        if (g.json) printJson({ job, paused: false });
        else out(`Resumed ${job}`);
        return undefined;
      }),
    );

  const requestOptions = (command: Command) =>
    command
      .option('--no-wait', 'write the request and return at once')
      .addOption(
        new Option('--timeout <seconds>', 'how long to wait for the outcome')
          .default(600)
          .argParser(positiveInt),
      );

  requestOptions(
    program
      .command('trigger')
      .description("run a job now, on the current leader (recorded with trigger 'manual')")
      .argument('<job>', 'job name'),
  ).action(
    action(async (job: string, options: { wait: boolean; timeout: number }, command: Command) =>
      request(globals(command), { kind: 'trigger', job }, options),
    ),
  );

  requestOptions(
    program
      .command('backfill')
      .description("run the job's slots in [from, to] that never ran, on the leader (trigger 'backfill')")
      .argument('<job>', 'job name')
      .requiredOption('--from <instant>', 'first instant, ISO', instant)
      .requiredOption(
        '--to <instant>',
        'last instant, ISO (inclusive; slots after now run on schedule)',
        instant,
      ),
  ).action(
    action(
      async (
        job: string,
        options: { from: string; to: string; wait: boolean; timeout: number },
        command: Command,
      ) => {
        if (Date.parse(options.to) < Date.parse(options.from)) {
          throw new InvalidArgumentError(`--to (${options.to}) is before --from (${options.from})`);
        }
        return request(
          globals(command),
          { kind: 'backfill', job, from: options.from, to: options.to },
          options,
        );
      },
    ),
  );

  program
    .command('watch')
    .description(
      "the demo's live view of the cluster, from the bucket, redrawn until Ctrl-C (plain snapshots when not a TTY)",
    )
    .addOption(
      new Option('--interval <seconds>', 'seconds between refreshes').default(2).argParser(positiveInt),
    )
    .addOption(
      new Option('--jobs <n>', 'how many jobs to read (those due soonest; as many as fit are shown)')
        .default(20)
        .argParser(positiveInt),
    )
    .addOption(new Option('--iterations <n>', 'stop after this many refreshes').argParser(positiveInt))
    .option('--once', 'one snapshot, then exit (same as --iterations 1)')
    .action(
      action(
        async (
          options: { interval: number; jobs: number; iterations?: number; once?: boolean },
          command: Command,
        ) => {
          const g = globals(command);
          const m = await model(g, false);
          return watch(m, g, { ...options, iterations: options.once ? 1 : options.iterations });
        },
      ),
    );

  program
    .command('dashboard')
    .description('serve the web dashboard of the cluster until Ctrl-C (read-only unless --allow-actions)')
    .addOption(new Option('--port <port>', 'TCP port, 0 for any free one').default(4300).argParser(port))
    .addOption(new Option('--host <host>', 'interface to listen on').default('127.0.0.1'))
    .option('--base-path <path>', 'serve under this path, e.g. /scheduler')
    .option('--allow-actions', 'allow pause, resume, trigger and backfill from the page')
    .action(
      action(
        async (
          options: { port: number; host: string; basePath?: string; allowActions?: boolean },
          command: Command,
        ) => {
          const g = globals(command);
          const m = await model(g, options.allowActions === true);
          const running = await runDashboardCommand({
            store: m.store,
            clock,
            port: options.port,
            host: options.host,
            readOnly: options.allowActions !== true,
            ...(options.basePath ? { basePath: options.basePath } : {}),
            // m.store already carries --key-prefix.
            ...(g.historyResource ? { historyResource: g.historyResource } : {}),
          });
          if (g.json) printJson({ url: running.url, readOnly: options.allowActions !== true });
          else
            out(
              `Dashboard on ${running.url} (${options.allowActions ? 'actions allowed' : 'read-only'}); Ctrl-C to stop.`,
            );
          // Serves until the signal (Ctrl-C in the bin) ends it.
          await new Promise<void>((resolve) => {
            if (!io.signal || io.signal.aborted) return resolve();
            io.signal.addEventListener('abort', () => resolve(), { once: true });
          });
          await running.close();
          return undefined;
        },
      ),
    );

  /**
   * The live view, from the bucket. On a TTY: the frame redrawn in place on the alternate screen,
   * sized to the terminal, the last frame left on the main screen at the end. Not a TTY: each
   * refresh prints the frame as plain text (`$COLUMNS`×`$LINES`, default 80×24), then a blank
   * line. `--json`: one `status` JSON line per refresh. Ends at `iterations` or on the signal.
   */
  async function watch(
    m: ClusterReadModel,
    g: GlobalOptions,
    options: { interval: number; jobs: number; iterations?: number | undefined },
  ): Promise<undefined> {
    const tty = io.stdout.isTTY === true && !g.json;
    const colours = colorsFor(g).isColorSupported;
    const startedAt = clock.now();
    const settings = [`store ${m.store.description} · every ${options.interval}s`];
    const events: FrameEvent[] = [];
    // Ctrl-C ends a read that hangs (an unreachable store) as well as a wait.
    const aborted = new Promise<undefined>((resolve) => {
      io.signal?.addEventListener('abort', () => resolve(undefined), { once: true });
    });
    // A terminal that reports no size (0, as some pseudo-terminals do) is taken as 80×24.
    const size = () => ({
      width: (tty && io.stdout.columns) || Number(io.env.COLUMNS) || 80,
      height: (tty && io.stdout.rows) || Number(io.env.LINES) || 24,
    });
    let last: ClusterStatus | undefined;
    let readError = '';
    const frameOf = (status: ClusterStatus, colour: boolean, keys = tty) => {
      const { width, height } = size();
      return renderFrame(
        statusFrame(status, {
          title: 's3-scheduler watch',
          settings,
          startedAt,
          events,
          maxRuns: 12,
          keys: keys ? `Ctrl-C quit · refresh every ${options.interval}s` : undefined,
          status: readError || undefined,
        }),
        colour,
        width,
        height,
      );
    };
    let screen = false;
    try {
      for (let round = 1; !io.signal?.aborted; round++) {
        // The first read's error ends the command (a wrong store); later ones show and retry.
        const read = m.status({ jobLimit: options.jobs, runsPerJob: 4 }).then(
          (status) => status,
          (error: unknown) => {
            if (last === undefined) throw error;
            readError = `read failed, retrying: ${error instanceof Error ? error.message : String(error)}`;
            return last;
          },
        );
        const status = await Promise.race([read, aborted]);
        if (status === undefined) break;
        if (status !== last) {
          readError = '';
          events.push(...statusEvents(last, status));
          events.splice(0, Math.max(0, events.length - 100));
          last = status;
        }
        if (g.json) io.stdout.write(`${JSON.stringify(status)}\n`);
        else if (tty) {
          if (!screen) io.stdout.write(ansi.altScreen + ansi.hideCursor);
          screen = true;
          const lines = frameOf(status, colours).map((line) => line + ansi.clearLine);
          io.stdout.write(`${ansi.home}${lines.join('\n')}${ansi.clearBelow}`);
        } else io.stdout.write(`${frameOf(status, false).join('\n')}\n\n`);
        if (options.iterations !== undefined && round >= options.iterations) break;
        await clock.sleep(options.interval * 1000, io.signal).catch(() => undefined);
      }
    } finally {
      if (screen) {
        io.stdout.write(ansi.showCursor + ansi.mainScreen);
        // The last picture stays readable above the prompt.
        if (last) io.stdout.write(`${frameOf(last, colours, false).join('\n')}\n`);
      }
    }
    return undefined;
  }

  async function request(
    g: GlobalOptions,
    input: { kind: 'trigger' | 'backfill'; job: string; from?: string; to?: string },
    options: { wait: boolean; timeout: number },
  ): Promise<ExitCode> {
    const m = await model(g, true);
    const [{ alive }, job] = await Promise.all([m.leadership(), m.job(input.job)]);
    // A manual-only job has no slots: refused here, from the catalog, before anything is written
    // (the leader would refuse it too, but only once it serves the request).
    if (input.kind === 'backfill' && job.definition !== null && job.definition.schedule === null) {
      throw new SchedulerError(`Cannot backfill ${input.job}: it has no cron schedule (manual only)`, {
        code: 'INVALID_OPTION',
        operation: 'backfill',
        metadata: { jobName: input.job, schedule: null },
        suggestion: `A manual-only job has no slots to backfill; run it now with \`s3-scheduler trigger ${input.job}\`.`,
      });
    }
    const submitted = await submitRequest(
      m.store,
      { ...input, requestedBy: `cli@${hostname()}` },
      clock.now(),
    );
    if (!alive) {
      const message = `No instance is alive to take the request (no live leader lease, no live worker heartbeat). Request ${submitted.id} waits in the bucket and runs when an instance of the app leads again.`;
      if (g.json) printJson({ request: submitted, alive: false, error: { code: 'NO_INSTANCE', message } });
      else io.stderr.write(`${colorsFor(g).red(message)}\n`);
      return EXIT_CODES.NO_INSTANCE;
    }
    if (!options.wait) {
      if (g.json) printJson({ request: submitted });
      else out(`Request ${submitted.id} written: the leader takes it up within a heartbeat.`);
      return EXIT_CODES.OK;
    }
    const what =
      input.kind === 'trigger' ? `trigger ${input.job}` : `backfill ${input.job} ${input.from} → ${input.to}`;
    const spinner =
      io.stderr.isTTY === true && !g.json
        ? createSpinner(`${what}: waiting for the leader…`, {
            stream: io.stderr as NodeJS.WriteStream,
          }).start()
        : undefined;
    const deadline = clock.now() + options.timeout * 1000;
    let served: OperatorRequest | undefined;
    try {
      for (;;) {
        const current = await readRequest(m.store, submitted.id);
        if (!current) break;
        if (current.request.state === 'running')
          spinner?.update(`${what}: running on ${current.request.workerId}…`);
        if (current.request.state === 'done' || current.request.state === 'failed') {
          served = current.request;
          break;
        }
        if (clock.now() >= deadline) break;
        await clock.sleep(POLL_MS);
      }
    } finally {
      if (!served) spinner?.stop();
    }
    if (!served) {
      const message = `No outcome within ${options.timeout}s; request ${submitted.id} stays in the bucket (the leader serves it when it can).`;
      if (g.json) printJson({ request: submitted, error: { code: 'TIMEOUT', message } });
      else io.stderr.write(`${message}\n`);
      return EXIT_CODES.TIMEOUT;
    }
    // Collected: nobody else needs it (the leader would delete it after an hour otherwise).
    await deleteRequest(m.store, served.id).catch(() => undefined);
    const ok = served.state === 'done';
    const summary = outcomeText(served);
    if (ok) spinner?.success(summary);
    else spinner?.error(summary);
    if (g.json) printJson({ request: served });
    else if (!spinner) (ok ? out : (text: string) => io.stderr.write(`${text}\n`))(summary);
    if (ok) return EXIT_CODES.OK;
    return served.error?.code === 'JOB_NOT_FOUND' ? EXIT_CODES.NOT_FOUND : EXIT_CODES.FAILED;
  }

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    // Thrown by an action (commander already printed its own parse errors): printed here. It is a
    // CommanderError too, so it is looked at first.
    if (error instanceof InvalidArgumentError) {
      io.stderr.write(`error: ${error.message}\n`);
      return EXIT_CODES.USAGE;
    }
    if (error instanceof CommanderError) {
      // --help and --version end here with exit code 0.
      return error.exitCode === 0 ? EXIT_CODES.OK : EXIT_CODES.USAGE;
    }
    json ||= program.opts().json === true;
    const code = exitCodeOf(error);
    if (json) {
      io.stdout.write(
        `${JSON.stringify({ error: isSchedulerError(error) ? error.toJSON() : { message: String((error as Error)?.message ?? error) } }, null, 2)}\n`,
      );
    } else {
      const message = error instanceof Error ? error.message : String(error);
      const suggestion = isSchedulerError(error) && error.suggestion ? `\n${error.suggestion}` : '';
      io.stderr.write(`error: ${message}${isSchedulerError(error) ? ` [${error.code}]` : ''}${suggestion}\n`);
    }
    return code;
  }
}

/** Between two reads of a request's outcome (ms): one GET a second while waiting. */
const POLL_MS = 1_000;

function port(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535)
    throw new InvalidArgumentError('expected a port from 0 to 65535');
  return parsed;
}

function positiveInt(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('expected a positive integer');
  return parsed;
}

function instant(value: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    throw new InvalidArgumentError(`expected an ISO instant such as 2026-03-01T00:00:00Z, got '${value}'`);
  return new Date(ms).toISOString();
}

function outcomeText(request: OperatorRequest): string {
  const where = request.workerId ? ` on ${request.workerId} (epoch ${request.epoch})` : '';
  if (request.error)
    return `${request.kind} ${request.job} failed${where}: ${request.error.message} [${request.error.code}]`;
  if (request.run) {
    const error = request.run.error ? `: ${request.run.error.message}` : '';
    return `${request.kind} ${request.job}: run ${request.run.runId} ${request.run.status}${where} in ${msText(request.run.durationMs)}${error}`;
  }
  if (request.backfill) {
    const b = request.backfill;
    const failed = b.runs.filter((run) => run.status !== 'completed' && run.status !== 'already-ran').length;
    return `backfill ${request.job}: ${b.slots} slots, ${b.ran} ran${failed ? ` (${failed} failed)` : ''}, ${b.alreadyRan} had run already${where}`;
  }
  return `${request.kind} ${request.job}: ${request.state}${where}`;
}
