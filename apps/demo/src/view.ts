import type { RunRecord } from '@s3-scheduler/history';
import type { ClusterEvent, ClusterSnapshot, InstanceSnapshot, LiveAttempt } from './model.js';
import { clockTime, clockTimeMs, durationText, zoneTime } from './time-format.js';

export interface ViewState {
  title: string;
  settings: string;
  now: number;
  startedAt: number;
  endsAt: number | undefined;
  snapshot: ClusterSnapshot;
  /** The newest stored runs, read from the history (the store), newest first. */
  recentRuns: readonly RunRecord[] | undefined;
  events: readonly ClusterEvent[];
  /** The last thing a key did, or a hint. */
  status: string;
  interactive: boolean;
}

const ESC = '\x1b[';
export const ansi = {
  home: `${ESC}H`,
  clearLine: `${ESC}K`,
  clearBelow: `${ESC}J`,
  hideCursor: `${ESC}?25l`,
  showCursor: `${ESC}?25h`,
  altScreen: `${ESC}?1049h`,
  mainScreen: `${ESC}?1049l`,
};

type Paint = (text: string) => string;
const sgr =
  (code: string): Paint =>
  (text) =>
    `${ESC}${code}m${text}${ESC}0m`;
const plainPaint: Paint = (text) => text;

interface Palette {
  bold: Paint;
  dim: Paint;
  green: Paint;
  red: Paint;
  yellow: Paint;
  cyan: Paint;
  magenta: Paint;
}

const COLOURS: Palette = {
  bold: sgr('1'),
  dim: sgr('2'),
  green: sgr('32'),
  red: sgr('31'),
  yellow: sgr('33'),
  cyan: sgr('36'),
  magenta: sgr('35'),
};
const NO_COLOURS: Palette = {
  bold: plainPaint,
  dim: plainPaint,
  green: plainPaint,
  red: plainPaint,
  yellow: plainPaint,
  cyan: plainPaint,
  magenta: plainPaint,
};

/** Pads by visible width (escape codes take no room). */
function cell(text: string, width: number): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping ANSI colour codes
  const visible = text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').length;
  return visible >= width ? `${text} ` : text + ' '.repeat(width - visible);
}

function stateText(instance: InstanceSnapshot, p: Palette): string {
  switch (instance.state) {
    case 'leader':
      return p.bold(p.green('LEADER'));
    case 'follower':
      return 'follower';
    case 'paused':
      return p.yellow('paused');
    case 'killed':
      return p.red('killed');
    case 'stopped':
      return p.dim('stopped');
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

/** The key bar; short enough for an 80-column terminal. */
export const KEY_BAR = 'k kill leader · p pause leader · a add job · t trigger job · q quit';

/**
 * The full frame of the live view, one string per line, at most `height` lines of at most
 * `width - 1` visible characters (so a terminal never wraps or scrolls it; 80×24 is enough for
 * the default cluster). When rows are short, the blank separators and the legend go first, then
 * the settings lines; the latest runs and the events share what is left. Every figure comes from
 * the cluster.
 */
export function renderFrame(state: ViewState, colours: boolean, width = 120, height = 60): string[] {
  const p = colours ? COLOURS : NO_COLOURS;
  const { snapshot } = state;
  const elapsed = Math.max(0, Math.round((state.now - state.startedAt) / 1000));
  const left =
    state.endsAt === undefined ? '' : ` · ${Math.max(0, Math.ceil((state.endsAt - state.now) / 1000))}s left`;
  const title = `${p.bold(state.title)}   ${clockTime(state.now)} UTC · ${elapsed}s${left}`;
  const settings = state.settings.split('\n').map((line) => p.dim(line));

  const alive = snapshot.instances.filter((i) => i.state !== 'killed' && i.state !== 'stopped');
  const leaders = snapshot.instances.filter((i) => i.state === 'leader');
  const leaderText =
    alive.length === 0 && snapshot.instances.length > 0
      ? p.red('no instance is alive: every instance was killed, so no slot can run')
      : leaders.length === 0
        ? p.yellow('none now: the lease is held by a dead or frozen instance, or an election is on')
        : leaders.map((l) => `${p.bold(p.green(l.id))} leads, epoch ${p.bold(String(l.epoch))}`).join('; ');
  const leaderBlock = [`${p.bold('LEADER')}  ${leaderText}`];

  const instances = [
    p.bold(
      `${cell('INSTANCES', 14)}${cell('state', 10)}${cell('epoch', 7)}${cell('sees leader', 13)}runs here`,
    ),
  ];
  for (const instance of snapshot.instances) {
    const id =
      instance.pid && instance.pid !== process.pid ? `${instance.id} (${instance.pid})` : instance.id;
    const dead = instance.state === 'killed';
    instances.push(
      `${cell(`  ${id}`, 14)}${cell(stateText(instance, p), 10)}${cell(dead ? '-' : String(instance.epoch), 7)}${cell(
        dead ? '-' : (instance.leader ?? '(none)'),
        13,
      )}${instance.runs}`,
    );
  }

  const jobs = [p.bold(`${cell('JOBS', 23)}${cell('schedule', 16)}${cell('zone', 17)}next run`)];
  for (const job of snapshot.jobs) {
    const next = job.nextRun ? Date.parse(job.nextRun) : undefined;
    const inZone =
      next !== undefined && job.timezone !== 'UTC' ? p.dim(` (${zoneTime(next, job.timezone)})`) : '';
    const nextText = next === undefined ? '-' : `${clockTime(next)}${inZone}`;
    jobs.push(
      `${cell(`  ${job.name}`, 23)}${cell(job.schedule ?? 'manual', 16)}${cell(job.timezone, 17)}${nextText}`,
    );
  }

  const runsHead = p.bold(
    `${cell('LATEST RUNS', 12)}${cell('job', 22)}${cell('status', 10)}${cell('att', 4)}${cell('duration', 9)}${cell('instance', 9)}${cell('ep', 3)}trigger`,
  );
  const live = new Map<string, LiveAttempt>(snapshot.live.map((attempt) => [attempt.runId, attempt]));
  const runs: string[] = [];
  if (state.recentRuns === undefined) runs.push(p.dim('  reading the history…'));
  else if (state.recentRuns.length === 0) runs.push(p.dim('  no run stored yet'));
  for (const run of state.recentRuns ?? []) {
    const attempt = run.status === 'running' ? (live.get(run.runId)?.attempt ?? run.attempts) : run.attempts;
    const when = run.slot ? clockTime(Date.parse(run.slot)) : `${clockTime(Date.parse(run.startedAt))}*`;
    runs.push(
      `${cell(`  ${when}`, 12)}${cell(run.job, 22)}${cell(statusText(run.status, p), 10)}${cell(String(attempt), 4)}${cell(
        durationText(run.durationMs),
        9,
      )}${cell(run.workerId ?? '-', 9)}${cell(run.epoch === null ? '-' : String(run.epoch), 3)}${run.trigger}`,
    );
  }
  const legend = p.dim('  (slot times UTC; * = manual run, start time)');

  const events = state.events
    .filter((event) => event.kind !== 'run')
    .map((event) => {
      const paint =
        event.kind === 'fault'
          ? p.red
          : event.kind === 'leader'
            ? p.green
            : event.kind === 'catch-up'
              ? p.magenta
              : event.kind === 'error'
                ? p.yellow
                : plainPaint;
      return `  ${p.dim(clockTimeMs(event.at))}  ${paint(event.text)}`;
    });

  const footer: string[] = [];
  if (state.interactive) footer.push(`${p.bold('keys')}  ${KEY_BAR}`);
  if (state.status) footer.push(state.status);

  // What must show, then what fits: separators and legend first to go, then the settings.
  let top = [title, ...settings];
  let gaps = true;
  let withLegend = true;
  const fixed = () =>
    top.length +
    leaderBlock.length +
    instances.length +
    jobs.length +
    2 + // the runs' and the events' headings
    footer.length +
    (gaps ? 5 : 0) +
    (withLegend ? 1 : 0);
  if (height - fixed() < 6) {
    gaps = false;
    withLegend = false;
  }
  if (height - fixed() < 4) top = [title];
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
    ...jobs,
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
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping ANSI colour codes
  const visibleLength = line.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').length;
  const limit = Math.max(1, width - 1);
  if (visibleLength <= limit) return line;
  let visible = 0;
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
    if (visible >= limit - 1) break;
    out += line[i];
    visible++;
  }
  // A colour cut open is closed, so it does not leak into the next line.
  return `${out}…${out.includes('\x1b[') ? `${ESC}0m` : ''}`;
}

/** A one-line status for plain output. */
export function statusLine(snapshot: ClusterSnapshot, now: number): string {
  const leader = snapshot.instances.find((i) => i.state === 'leader');
  const instances = snapshot.instances.map((i) => `${i.id} ${i.state}`).join(', ');
  const next = snapshot.jobs
    .filter((job) => job.nextRun)
    .map((job) => `${job.name} ${clockTime(Date.parse(job.nextRun!))}`)
    .join(', ');
  return `${clockTimeMs(now)}  status: ${leader ? `leader ${leader.id} epoch ${leader.epoch}` : 'no leader'} · ${instances} · next: ${next}`;
}
