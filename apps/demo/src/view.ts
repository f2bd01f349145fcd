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

/** The full frame of the live view, one string per line. Every figure comes from the cluster. */
export function renderFrame(state: ViewState, colours: boolean, width = 120, height = 60): string[] {
  const p = colours ? COLOURS : NO_COLOURS;
  const { snapshot } = state;
  const lines: string[] = [];
  const elapsed = Math.max(0, Math.round((state.now - state.startedAt) / 1000));
  const left =
    state.endsAt === undefined ? '' : ` · ${Math.max(0, Math.ceil((state.endsAt - state.now) / 1000))}s left`;
  lines.push(`${p.bold(state.title)}   ${clockTime(state.now)} UTC · ${elapsed}s${left}`);
  for (const line of state.settings.split('\n')) lines.push(p.dim(line));
  lines.push('');

  const leaders = snapshot.instances.filter((i) => i.state === 'leader');
  const leaderLine =
    leaders.length === 0
      ? p.yellow(
          'no leader right now: the lease is held by a dead or frozen instance, or an election is under way',
        )
      : leaders.map((l) => `${p.bold(p.green(l.id))} leads, epoch ${p.bold(String(l.epoch))}`).join('; ');
  lines.push(`${p.bold('LEADER')}  ${leaderLine}`);
  lines.push('');
  lines.push(
    p.bold(
      `${cell('INSTANCES', 14)}${cell('state', 10)}${cell('epoch', 7)}${cell('sees leader', 13)}runs here`,
    ),
  );
  for (const instance of snapshot.instances) {
    const id =
      instance.pid && instance.pid !== process.pid ? `${instance.id} (${instance.pid})` : instance.id;
    const dead = instance.state === 'killed';
    lines.push(
      `${cell(`  ${id}`, 14)}${cell(stateText(instance, p), 10)}${cell(dead ? '-' : String(instance.epoch), 7)}${cell(
        dead ? '-' : (instance.leader ?? '(none)'),
        13,
      )}${instance.runs}`,
    );
  }
  lines.push('');

  lines.push(p.bold(`${cell('JOBS', 25)}${cell('schedule', 17)}${cell('zone', 18)}next run`));
  for (const job of snapshot.jobs) {
    const next = job.nextRun ? Date.parse(job.nextRun) : undefined;
    const inZone =
      next !== undefined && job.timezone !== 'UTC' ? p.dim(` (${zoneTime(next, job.timezone)})`) : '';
    const nextText = next === undefined ? '-' : `${clockTime(next)}${inZone}`;
    lines.push(
      `${cell(`  ${job.name}`, 25)}${cell(job.schedule ?? 'manual', 17)}${cell(job.timezone, 18)}${nextText}`,
    );
  }
  lines.push('');

  lines.push(
    p.bold(
      `${cell('LATEST RUNS', 14)}${cell('job', 23)}${cell('status', 11)}${cell('attempt', 9)}${cell('duration', 10)}${cell('instance', 10)}${cell('epoch', 7)}trigger`,
    ),
  );
  const live = new Map<string, LiveAttempt>(snapshot.live.map((attempt) => [attempt.runId, attempt]));
  const runs = state.recentRuns;
  if (runs === undefined) lines.push(p.dim('  reading the history…'));
  else if (runs.length === 0) lines.push(p.dim('  no run stored yet'));
  for (const run of runs ?? []) {
    const attempt = run.status === 'running' ? (live.get(run.runId)?.attempt ?? run.attempts) : run.attempts;
    const when = run.slot ? clockTime(Date.parse(run.slot)) : `${clockTime(Date.parse(run.startedAt))}*`;
    lines.push(
      `${cell(`  ${when}`, 14)}${cell(run.job, 23)}${cell(statusText(run.status, p), 11)}${cell(String(attempt), 9)}${cell(
        durationText(run.durationMs),
        10,
      )}${cell(run.workerId ?? '-', 10)}${cell(run.epoch === null ? '-' : String(run.epoch), 7)}${run.trigger}`,
    );
  }
  lines.push(p.dim('  (slot times UTC; * = manual run, start time)'));
  lines.push('');

  lines.push(p.bold('EVENTS'));
  const room = Math.max(3, height - lines.length - 3);
  const shown = state.events.filter((event) => event.kind !== 'run').slice(-room);
  for (const event of shown) {
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
    lines.push(`  ${p.dim(clockTimeMs(event.at))}  ${paint(event.text)}`);
  }
  lines.push('');
  if (state.interactive) {
    lines.push(
      `${p.bold('keys')}  k kill the leader · p pause the leader · a add a job · t trigger a job · q quit`,
    );
  }
  if (state.status) lines.push(state.status);
  return lines.map((line) => truncate(line, width));
}

/** Cuts a line to the terminal's width, counting only visible characters. */
function truncate(line: string, width: number): string {
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
    if (visible >= width - 1) break;
    out += line[i];
    visible++;
  }
  return out;
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
