import type { HistoryEntry } from '@s3-scheduler/plugin';
import pc from 'picocolors';
import { clockTime, clockTimeMs, durationText, zoneTime } from './time-format.js';

/**
 * The live terminal view of a cluster: one frame, whoever draws it. The demo fills it from its
 * instances (in-process knowledge: killed, paused, who each instance sees lead), `s3-scheduler
 * watch` from the bucket (`ClusterReadModel.status()`, see `statusFrame`): same layout, same
 * colours, same 80×24 fitting.
 */
export interface ClusterFrame {
  /** `s3-scheduler demo`, `s3-scheduler watch`. */
  title: string;
  /** Dim lines under the title (settings, store); the first to go on a short terminal. */
  settings: readonly string[];
  /** ms since epoch. */
  now: number;
  /** When the view started (ms): the title shows the time since. */
  startedAt: number;
  /** When the run ends (ms), if it does: the title shows the time left. */
  endsAt?: number | undefined;
  instances: readonly FrameInstance[];
  /** Said after the leader (`lease renewed 2s ago`), or instead of it when nobody leads. */
  leaderNote?: string | undefined;
  jobs: readonly FrameJob[];
  /** How many jobs the cluster has, when `jobs` shows only some of them. */
  totalJobs?: number | undefined;
  /** The newest stored runs, newest first; `undefined` while they are being read. */
  recentRuns: readonly FrameRun[] | undefined;
  events: readonly FrameEvent[];
  /** The key bar (`k kill leader · … · q quit`); none when not interactive. */
  keys?: string | undefined;
  /** The last thing that happened, or a hint, under the key bar. */
  status?: string | undefined;
}

/**
 * One instance. From inside (the demo) every state is known; from the bucket (`watch`) an
 * instance is `leader`, `follower` (a live heartbeat) or `gone` (its heartbeat is old).
 */
export interface FrameInstance {
  id: string;
  /** The OS process, shown after the id when it is not this process. */
  pid?: number | undefined;
  state: 'starting' | 'follower' | 'leader' | 'paused' | 'killed' | 'stopped' | 'gone';
  /** The epoch it knows (`null`: not known, or meaningless for a dead instance). */
  epoch: number | null;
  /** The leader this instance sees (demo); the column shows only when some row has it. */
  seesLeader?: string | null | undefined;
  /** Runs executed here (demo); the column shows only when some row has it. */
  runs?: number | undefined;
  /** Its last heartbeat, ms (watch); the column shows only when some row has it. */
  heartbeatAt?: number | undefined;
}

export interface FrameJob {
  name: string;
  schedule: string | null;
  timezone: string;
  /** When it fires next, ms; `null` for none (manual, paused, ended). */
  nextRun: number | null;
  paused?: boolean | undefined;
}

/** A stored run (`HistoryEntry` fits), `attempts` as the view should show it. */
export type FrameRun = Pick<
  HistoryEntry,
  | 'id'
  | 'jobName'
  | 'status'
  | 'slot'
  | 'startTime'
  | 'duration'
  | 'attempts'
  | 'trigger'
  | 'workerId'
  | 'epoch'
>;

export interface FrameEvent {
  /** ms since epoch. */
  at: number;
  kind: 'leader' | 'fault' | 'catch-up' | 'info' | 'error';
  text: string;
}

const ESC = '\x1b[';
/** Cursor and screen control for a frame redrawn in place. */
export const ansi = {
  home: `${ESC}H`,
  clearLine: `${ESC}K`,
  clearBelow: `${ESC}J`,
  hideCursor: `${ESC}?25l`,
  showCursor: `${ESC}?25h`,
  altScreen: `${ESC}?1049h`,
  mainScreen: `${ESC}?1049l`,
};

type Palette = ReturnType<typeof pc.createColors>;

// biome-ignore lint/suspicious/noControlCharactersInRegex: stripping ANSI colour codes
const ANSI_CODE = /\x1b\[[0-9;?]*[A-Za-z]/g;

/** The text without its colour codes. */
export function visible(text: string): string {
  return text.replace(ANSI_CODE, '');
}

/** Pads by visible width (escape codes take no room). */
function cell(text: string, width: number): string {
  const length = visible(text).length;
  return length >= width ? `${text} ` : text + ' '.repeat(width - length);
}

function stateText(state: FrameInstance['state'], p: Palette): string {
  switch (state) {
    case 'leader':
      return p.bold(p.green('LEADER'));
    case 'follower':
      return 'follower';
    case 'paused':
      return p.yellow('paused');
    case 'killed':
      return p.red('killed');
    case 'stopped':
    case 'gone':
      return p.dim(state);
    default:
      return p.dim('starting');
  }
}

function statusText(status: string, p: Palette): string {
  switch (status) {
    case 'completed':
      return p.green(status);
    case 'failed':
      return p.red(status);
    case 'timeout':
      return p.yellow(status);
    case 'running':
      return p.cyan(status);
    case 'abandoned':
      return p.magenta(status);
    default:
      return p.dim(status);
  }
}

const EVENT_PAINT: Record<FrameEvent['kind'], 'red' | 'green' | 'magenta' | 'yellow' | undefined> = {
  fault: 'red',
  leader: 'green',
  'catch-up': 'magenta',
  error: 'yellow',
  info: undefined,
};

/** "12s ago" (or "in 3s" for a clock ahead), from `then` to `now` in ms. */
export function agoText(then: number, now: number): string {
  const s = Math.round((now - then) / 1000);
  const text = Math.abs(s) < 60 ? `${Math.abs(s)}s` : `${Math.floor(Math.abs(s) / 60)}m ${Math.abs(s) % 60}s`;
  return s >= 0 ? `${text} ago` : `in ${text}`;
}

/**
 * The frame, one string per line: at most `height` lines of at most `width - 1` visible
 * characters (a terminal never wraps or scrolls it; 80×24 is enough for a three-instance,
 * four-job cluster). When rows are short, the blank separators and the legend go first, then the
 * settings lines; the latest runs and the events share what is left. `colours` false gives plain
 * text (no escape codes at all).
 */
export function renderFrame(frame: ClusterFrame, colours: boolean, width = 120, height = 60): string[] {
  const p = pc.createColors(colours);
  const elapsed = Math.max(0, Math.round((frame.now - frame.startedAt) / 1000));
  const left =
    frame.endsAt === undefined ? '' : ` · ${Math.max(0, Math.ceil((frame.endsAt - frame.now) / 1000))}s left`;
  const title = `${p.bold(frame.title)}   ${clockTime(frame.now)} UTC · ${elapsed}s${left}`;
  const settings = frame.settings.map((line) => p.dim(line));

  const dead = (state: FrameInstance['state']) =>
    state === 'killed' || state === 'stopped' || state === 'gone';
  const alive = frame.instances.filter((i) => !dead(i.state));
  const leaders = frame.instances.filter((i) => i.state === 'leader');
  const note = frame.leaderNote ? ` · ${frame.leaderNote}` : '';
  const leaderText =
    alive.length === 0 && frame.instances.length > 0
      ? p.red(`no instance is alive, so no slot can run${note}`)
      : leaders.length === 0
        ? p.yellow(
            frame.leaderNote ??
              'none now: the lease is held by a dead or frozen instance, or an election is on',
          )
        : `${leaders.map((l) => `${p.bold(p.green(l.id))} leads, epoch ${p.bold(String(l.epoch ?? '?'))}`).join('; ')}${p.dim(note)}`;
  const leaderBlock = [`${p.bold('LEADER')}  ${leaderText}`];

  const withSees = frame.instances.some((i) => i.seesLeader !== undefined);
  const withRuns = frame.instances.some((i) => i.runs !== undefined);
  const withBeat = frame.instances.some((i) => i.heartbeatAt !== undefined);
  const instances = [
    p.bold(
      `${cell('INSTANCES', 14)}${cell('state', 10)}${cell('epoch', 7)}${withSees ? cell('sees leader', 13) : ''}${withRuns ? cell('runs here', 11) : ''}${withBeat ? 'heartbeat' : ''}`.trimEnd(),
    ),
  ];
  for (const instance of frame.instances) {
    const id =
      instance.pid && instance.pid !== process.pid ? `${instance.id} (${instance.pid})` : instance.id;
    const gone = instance.state === 'killed';
    const sees = withSees ? cell(gone ? '-' : (instance.seesLeader ?? '(none)'), 13) : '';
    const runs = withRuns ? cell(instance.runs === undefined ? '-' : String(instance.runs), 11) : '';
    const beat =
      withBeat && instance.heartbeatAt !== undefined ? agoText(instance.heartbeatAt, frame.now) : '';
    instances.push(
      `${cell(`  ${id}`, 14)}${cell(stateText(instance.state, p), 10)}${cell(gone || instance.epoch === null ? '-' : String(instance.epoch), 7)}${sees}${runs}${beat}`.trimEnd(),
    );
  }

  const jobRows: string[] = [];
  for (const job of frame.jobs) {
    const next = job.nextRun ?? undefined;
    const inZone =
      next !== undefined && job.timezone !== 'UTC' ? p.dim(` (${zoneTime(next, job.timezone)})`) : '';
    const nextText = job.paused
      ? p.yellow('paused')
      : next === undefined
        ? '-'
        : `${clockTime(next)}${inZone}`;
    jobRows.push(
      `${cell(`  ${job.name}`, 23)}${cell(job.schedule ?? 'manual', 16)}${cell(job.timezone, 17)}${nextText}`,
    );
  }
  const jobsHeading = (shown: number) => {
    const total = Math.max(frame.totalJobs ?? 0, frame.jobs.length);
    return p.bold(
      `${cell(total > shown ? `JOBS (${shown}/${total})` : 'JOBS', 23)}${cell('schedule', 16)}${cell('zone', 17)}next run`,
    );
  };
  let jobsShown = jobRows.length;

  const runsHead = p.bold(
    `${cell('LATEST RUNS', 12)}${cell('job', 22)}${cell('status', 10)}${cell('att', 4)}${cell('duration', 9)}${cell('instance', 9)}${cell('ep', 3)}trigger`,
  );
  const runs: string[] = [];
  if (frame.recentRuns === undefined) runs.push(p.dim('  reading the history…'));
  else if (frame.recentRuns.length === 0) runs.push(p.dim('  no run stored yet'));
  for (const run of frame.recentRuns ?? []) {
    const when = run.slot ? clockTime(Date.parse(run.slot)) : `${clockTime(Date.parse(run.startTime))}*`;
    runs.push(
      `${cell(`  ${when}`, 12)}${cell(run.jobName, 22)}${cell(statusText(run.status, p), 10)}${cell(String(run.attempts), 4)}${cell(
        durationText(run.duration),
        9,
      )}${cell(run.workerId ?? '-', 9)}${cell(run.epoch === null ? '-' : String(run.epoch), 3)}${run.trigger}`,
    );
  }
  const legend = p.dim('  (slot times UTC; * = manual run, start time)');

  const events = frame.events.map((event) => {
    const paint = EVENT_PAINT[event.kind];
    return `  ${p.dim(clockTimeMs(event.at))}  ${paint ? p[paint](event.text) : event.text}`;
  });

  const footer: string[] = [];
  if (frame.keys) footer.push(`${p.bold('keys')}  ${frame.keys}`);
  if (frame.status) footer.push(frame.status);

  // What must show, then what fits: separators and legend first to go, then the settings.
  let top = [title, ...settings];
  let gaps = true;
  let withLegend = true;
  const fixed = () =>
    top.length +
    leaderBlock.length +
    instances.length +
    1 + // the jobs' heading
    jobsShown +
    2 + // the runs' and the events' headings
    footer.length +
    (gaps ? 5 : 0) +
    (withLegend ? 1 : 0);
  if (height - fixed() < 6) {
    gaps = false;
    withLegend = false;
  }
  if (height - fixed() < 4) top = [title];
  // Many jobs: those due soonest (the list's order) show, and the runs and events keep 4 rows.
  if (height - fixed() < 4) jobsShown = Math.max(1, jobsShown - (4 - (height - fixed())));
  const room = Math.max(0, height - fixed());
  const runsShown = Math.min(runs.length, Math.ceil(room / 2));
  const eventsShown = Math.min(events.length, room - runsShown);
  const gap = gaps ? [''] : [];
  const lines = [
    ...top,
    ...gap,
    ...leaderBlock,
    ...gap,
    ...instances,
    ...gap,
    jobsHeading(jobsShown),
    ...jobRows.slice(0, jobsShown),
    ...gap,
    runsHead,
    ...runs.slice(0, runsShown),
    ...(withLegend ? [legend] : []),
    ...gap,
    p.bold('EVENTS'),
    ...(eventsShown > 0 ? events.slice(-eventsShown) : []),
    ...footer,
  ];
  // Still too tall (a tiny terminal): the bottom goes, the key bar stays when there is one.
  const cut =
    lines.length > height ? [...lines.slice(0, Math.max(0, height - footer.length)), ...footer] : lines;
  return cut.slice(0, height).map((line) => truncate(line, width));
}

/**
 * Cuts a line to `width - 1` visible characters (the last column stays free, so the terminal
 * never wraps), ending a cut line with `…`; colour codes are kept and take no room.
 */
export function truncate(line: string, width: number): string {
  const limit = Math.max(1, width - 1);
  if (visible(line).length <= limit) return line;
  let count = 0;
  let out = '';
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\x1b') {
      const end = line.indexOf('m', i);
      if (end > 0) {
        out += line.slice(i, end + 1);
        i = end;
        continue;
      }
    }
    if (count >= limit - 1) break;
    out += line[i];
    count++;
  }
  // A colour cut open is closed, so it does not leak into the next line.
  return `${out}…${out.includes(ESC) ? `${ESC}0m` : ''}`;
}
