// s3-scheduler dashboard: a small page without a framework. Views by hash (#/, #/job/NAME,
// #/run/JOB/ID), data from the JSON API beside it, refreshed every few seconds without a reload.
// Every text from the server goes through textContent (h()), never through innerHTML.

const body = document.body;
const READ_ONLY = body.dataset.readOnly !== 'false';
const REFRESH_MS = Math.max(1000, Number(body.dataset.refresh) || 5000);
const STATUSES = ['running', 'completed', 'failed', 'timeout', 'cancelled', 'abandoned', 'skipped'];
const STATUS_COLORS = {
  completed: 'var(--ok)',
  failed: 'var(--bad)',
  timeout: 'var(--bad)',
  running: 'var(--run)',
  cancelled: 'var(--idle)',
  abandoned: 'var(--idle)',
  skipped: 'var(--idle)',
};
const main = document.getElementById('main');
const SVG = 'http://www.w3.org/2000/svg';

/** h('a', { href: '#/' }, 'text', child…): an element; null/false children are left out. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  for (const child of children)
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

async function api(path, init) {
  const response = await fetch(path, { headers: { accept: 'application/json' }, ...init });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data?.error?.message ?? `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

function post(path, payload = {}) {
  return api(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
}

const enc = encodeURIComponent;
const jobPath = (name) => `api/jobs/${enc(name)}`;

// ── Formatting ────────────────────────────────────────────────────────────────────────────────

function time(iso, zone) {
  if (!iso) return '—';
  const date = new Date(iso);
  const text = zone
    ? new Intl.DateTimeFormat('en-GB', {
        timeZone: zone,
        dateStyle: 'short',
        timeStyle: 'medium',
      }).format(date)
    : `${date.toISOString().replace('T', ' ').slice(0, 19)}Z`;
  return h('time', { datetime: iso, title: iso }, text);
}

function duration(ms) {
  if (ms === null || ms === undefined) return '—';
  if (Math.abs(ms) < 1000) return `${ms} ms`;
  if (Math.abs(ms) < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

function badge(status, label = status) {
  return h('span', { class: `badge s-${status}` }, label);
}

function table(caption, headers, rows, emptyText) {
  const head = h(
    'tr',
    {},
    headers.map((header) =>
      h('th', { scope: 'col', class: header.wide ? 'wide' : null }, header.label ?? header),
    ),
  );
  const content = rows.length
    ? rows
    : [h('tr', {}, h('td', { colspan: headers.length, class: 'empty' }, emptyText))];
  return h(
    'div',
    { class: 'table-wrap', role: 'region', 'aria-label': caption, tabindex: 0 },
    h('table', {}, h('caption', {}, caption), h('thead', {}, head), h('tbody', {}, content)),
  );
}

function tableWithId(id, ...args) {
  const wrap = table(...args);
  wrap.id = id;
  return wrap;
}

function toast(text) {
  const el = document.getElementById('toast');
  el.textContent = text;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => {
    el.textContent = '';
  }, 6000);
}

/**
 * Replaces a region's content and puts focus back on the control that had it (same data-key),
 * so a refresh never throws a keyboard user out of the table they are in.
 */
function swap(region, ...content) {
  // Unchanged content stays as it is: no flicker, and a button being clicked is not replaced.
  const items = content.flat().filter(Boolean);
  const probe = document.createElement('div');
  probe.append(...items.map((item) => (item instanceof Node ? item.cloneNode(true) : item)));
  if (probe.innerHTML === region.innerHTML) return;
  const key = document.activeElement?.dataset?.key;
  region.replaceChildren(...items);
  if (key) region.querySelector(`[data-key="${CSS.escape(key)}"]`)?.focus();
}

async function act(button, work) {
  button.disabled = true;
  try {
    const result = await work();
    toast(result?.message ?? 'Done');
    await refresh();
  } catch (error) {
    toast(`Refused: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

function jobActions(job) {
  if (READ_ONLY) return null;
  const pause = h(
    'button',
    {
      type: 'button',
      'data-key': `pause:${job.name}`,
      'aria-label': `Pause ${job.name}`,
      onclick: (event) =>
        act(event.currentTarget, () =>
          post(`${jobPath(job.name)}/pause`, { note: 'Paused from the dashboard' }),
        ),
    },
    'Pause',
  );
  const resume = h(
    'button',
    {
      type: 'button',
      'data-key': `resume:${job.name}`,
      'aria-label': `Resume ${job.name}`,
      onclick: (event) => act(event.currentTarget, () => post(`${jobPath(job.name)}/resume`)),
    },
    'Resume',
  );
  const trigger = h(
    'button',
    {
      type: 'button',
      'data-key': `trigger:${job.name}`,
      'aria-label': `Run ${job.name} now`,
      onclick: (event) => act(event.currentTarget, () => post(`${jobPath(job.name)}/trigger`)),
    },
    'Run now',
  );
  return h('div', { class: 'actions' }, job.paused ? resume : pause, trigger);
}

function jobState(job) {
  if (job.paused)
    return [badge('paused', 'paused'), job.pausedNote ? h('span', { class: 'sub' }, job.pausedNote) : null];
  if (!job.enabled) return badge('cancelled', 'disabled');
  if (job.running.length)
    return badge('running', `running on ${job.running.map((run) => run.workerId).join(', ')}`);
  return badge('completed', 'active');
}

// ── Views ─────────────────────────────────────────────────────────────────────────────────────

/** The current view: `render()` builds it once, `load()` fills it and is called on each refresh. */
let view = null;

function overview() {
  const cluster = h('section', { 'aria-labelledby': 'cluster-title' });
  const jobs = h('section', { 'aria-labelledby': 'jobs-title' });
  return {
    title: 'Cluster',
    render: () => [h('h1', {}, 'Cluster'), cluster, h('h2', { id: 'jobs-title' }, 'Jobs'), jobs],
    async load() {
      const [state, list] = await Promise.all([api('api/cluster'), api('api/jobs')]);
      swap(
        cluster,
        h('h2', { id: 'cluster-title', class: 'visually-hidden' }, 'Leadership'),
        h(
          'dl',
          { class: 'facts' },
          h(
            'div',
            {},
            h('dt', {}, 'Leader'),
            h('dd', { id: 'leader' }, state.leader ?? 'nobody (election under way)'),
          ),
          h('div', {}, h('dt', {}, 'Epoch'), h('dd', { id: 'epoch' }, String(state.epoch))),
          h(
            'div',
            {},
            h('dt', {}, 'Live workers'),
            h('dd', { id: 'worker-count' }, String(state.workers.length)),
          ),
          h('div', {}, h('dt', {}, 'Read through'), h('dd', {}, state.self ?? 'the bucket')),
        ),
        h('h2', {}, 'Workers'),
        table(
          'Workers with a live heartbeat',
          ['Worker', 'Role'],
          state.workers.map((worker) =>
            h(
              'tr',
              {},
              h('th', { scope: 'row' }, worker),
              h('td', {}, worker === state.leader ? badge('leader', 'leader') : 'follower'),
            ),
          ),
          'No live worker.',
        ),
        h('h2', {}, 'Hand-overs'),
        tableWithId(
          'hand-overs',
          'Leadership changes, newest first',
          ['Epoch', 'New leader', 'Previous', 'At'],
          state.handOvers.map((handOver) =>
            h(
              'tr',
              {},
              h('th', { scope: 'row' }, String(handOver.epoch)),
              h('td', {}, handOver.workerId),
              h('td', {}, handOver.previousWorkerId ?? '—'),
              h('td', {}, time(handOver.at)),
            ),
          ),
          'No hand-over since the dashboard started.',
        ),
      );
      swap(
        jobs,
        table(
          'Every job, its schedule and its latest run',
          [
            'Job',
            'Schedule',
            { label: 'Zone', wide: true },
            { label: 'Next runs', wide: true },
            'Last run',
            { label: 'Success rate', wide: true },
            'State',
            ...(READ_ONLY ? [] : ['Actions']),
          ],
          list.jobs.map((job) =>
            h(
              'tr',
              { 'data-job': job.name },
              h(
                'th',
                { scope: 'row' },
                h('a', { href: `#/job/${enc(job.name)}`, 'data-key': `job:${job.name}` }, job.name),
                job.description ? h('span', { class: 'sub' }, job.description) : null,
              ),
              h(
                'td',
                {},
                job.scheduleText,
                h('span', { class: 'sub' }, h('code', {}, job.schedule ?? 'on demand')),
              ),
              h('td', { class: 'wide' }, job.timezone),
              h(
                'td',
                { class: 'wide' },
                job.nextRuns.length
                  ? job.nextRuns.map((run) => h('span', { class: 'sub' }, time(run, job.timezone)))
                  : '—',
              ),
              h(
                'td',
                { class: 'last-status' },
                job.lastRun
                  ? [badge(job.lastRun.status), h('span', { class: 'sub' }, time(job.lastRun.at))]
                  : '—',
              ),
              h(
                'td',
                { class: 'num wide' },
                job.successRate === null ? '—' : `${job.successRate}%`,
                h('span', { class: 'sub' }, `${job.totalRuns} runs`),
              ),
              h('td', { class: 'state' }, jobState(job)),
              READ_ONLY ? null : h('td', {}, jobActions(job)),
            ),
          ),
          'No job is registered.',
        ),
      );
    },
  };
}

function jobView(name, params) {
  const status = STATUSES.includes(params.get('status')) ? params.get('status') : '';
  const pageSize = Math.min(100, Math.max(1, Number(params.get('limit')) || 20));
  /** Cursors of the pages before this one; the last is the current page's. */
  const cursors = [];
  let cursor = params.get('cursor') || '';
  const summary = h('section', { 'aria-label': 'Summary' });
  const chart = h('section', { 'aria-labelledby': 'chart-title' });
  const history = h('div', { id: 'history' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'History pages' });
  const filter = h(
    'select',
    {
      id: 'status-filter',
      onchange: (event) => {
        const next = new URLSearchParams();
        if (event.currentTarget.value) next.set('status', event.currentTarget.value);
        if (params.get('limit')) next.set('limit', params.get('limit'));
        location.hash = `#/job/${enc(name)}${next.size ? `?${next}` : ''}`;
      },
    },
    h('option', { value: '' }, 'All statuses'),
    STATUSES.map((value) => h('option', { value, selected: value === status }, value)),
  );
  let nextCursor = null;
  const older = h(
    'button',
    {
      type: 'button',
      id: 'older',
      onclick: () => {
        cursors.push(cursor);
        cursor = nextCursor;
        refresh();
      },
    },
    'Older runs',
  );
  const newer = h(
    'button',
    {
      type: 'button',
      id: 'newer',
      onclick: () => {
        cursor = cursors.pop() ?? '';
        refresh();
      },
    },
    'Newer runs',
  );
  return {
    title: name,
    render: () => [
      h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Cluster'), ' › job'),
      h('h1', {}, name),
      summary,
      h('h2', { id: 'chart-title' }, 'Durations and outcomes'),
      chart,
      h('h2', {}, 'History'),
      h('div', { class: 'toolbar' }, h('label', { for: 'status-filter' }, 'Status', filter)),
      history,
      pager,
    ],
    async load() {
      const query = new URLSearchParams({ limit: String(pageSize) });
      if (status) query.set('status', status);
      if (cursor) query.set('cursor', cursor);
      const asked = cursor;
      const pageNumber = cursors.length + 1;
      const [list, page, recent] = await Promise.all([
        api('api/jobs'),
        api(`${jobPath(name)}/history?${query}`),
        api(`${jobPath(name)}/history?limit=50`),
      ]);
      // Paged again while this load was under way: the refresh queued after it shows that page.
      if (asked !== cursor) return;
      const job = list.jobs.find((candidate) => candidate.name === name);
      if (!job) {
        swap(summary, h('p', { class: 'note' }, 'No job by that name.'));
        return;
      }
      swap(
        summary,
        h(
          'dl',
          { class: 'facts' },
          h(
            'div',
            {},
            h('dt', {}, 'Schedule'),
            h(
              'dd',
              {},
              job.scheduleText,
              h('span', { class: 'sub' }, h('code', {}, job.schedule ?? 'on demand')),
            ),
          ),
          h('div', {}, h('dt', {}, 'Zone'), h('dd', {}, job.timezone)),
          h('div', {}, h('dt', {}, 'State'), h('dd', { id: 'job-state' }, jobState(job))),
          h(
            'div',
            {},
            h('dt', {}, 'Success rate'),
            h('dd', {}, job.successRate === null ? '—' : `${job.successRate}% of ${job.totalRuns}`),
          ),
          h(
            'div',
            {},
            h('dt', {}, 'Next runs'),
            h(
              'dd',
              {},
              job.nextRuns.length
                ? job.nextRuns.map((run) => h('span', { class: 'sub' }, time(run, job.timezone)))
                : '—',
            ),
          ),
        ),
        job.description ? h('p', {}, job.description) : null,
        READ_ONLY ? null : h('h2', {}, 'Actions'),
        READ_ONLY ? null : jobActions(job),
        READ_ONLY ? null : pauseForm(job),
        READ_ONLY || !job.schedule ? null : backfillForm(job),
      );
      swap(chart, durationChart(recent.runs));
      swap(
        history,
        table(
          status ? `Runs with status ${status}, newest first` : 'Runs, newest first',
          [
            'Run',
            'Status',
            'Trigger',
            { label: 'Slot', wide: true },
            'Started',
            'Duration',
            { label: 'Worker', wide: true },
          ],
          page.runs.map((run) =>
            h(
              'tr',
              { 'data-status': run.status },
              h(
                'th',
                { scope: 'row' },
                h(
                  'a',
                  {
                    href: `#/run/${enc(name)}/${enc(run.runId)}?at=${enc(run.slot ?? run.startedAt)}`,
                    'data-key': `run:${run.runId}`,
                  },
                  h('code', {}, run.runId),
                ),
              ),
              h('td', {}, badge(run.status)),
              h('td', {}, run.trigger),
              h('td', { class: 'wide' }, time(run.slot)),
              h('td', {}, time(run.startedAt)),
              h('td', { class: 'num' }, duration(run.durationMs)),
              h('td', { class: 'wide' }, run.workerId ?? '—'),
            ),
          ),
          status ? `No ${status} run.` : 'No run yet.',
        ),
      );
      nextCursor = page.nextCursor;
      older.disabled = !nextCursor;
      newer.disabled = cursors.length === 0;
      swap(pager, newer, older, h('span', { class: 'sub' }, `Page ${pageNumber}`));
    },
  };
}

function pauseForm(job) {
  if (job.paused) return null;
  const note = h('input', {
    id: 'pause-note',
    name: 'note',
    maxlength: 200,
    placeholder: 'Why (shown to everyone)',
  });
  return h(
    'form',
    {
      class: 'form',
      'aria-label': `Pause ${job.name} with a note`,
      onsubmit: (event) => {
        event.preventDefault();
        act(event.submitter ?? event.currentTarget, () =>
          post(`${jobPath(job.name)}/pause`, { note: note.value }),
        );
      },
    },
    h('label', { for: 'pause-note' }, 'Pause note', note),
    h('button', { type: 'submit' }, 'Pause with note'),
  );
}

function backfillForm(job) {
  const from = h('input', { id: 'backfill-from', type: 'datetime-local', required: true, step: 60 });
  const to = h('input', { id: 'backfill-to', type: 'datetime-local', required: true, step: 60 });
  const iso = (value) => new Date(`${value}Z`).toISOString();
  return h(
    'form',
    {
      class: 'form',
      'aria-label': `Backfill ${job.name}`,
      onsubmit: (event) => {
        event.preventDefault();
        act(event.submitter ?? event.currentTarget, () =>
          post(`${jobPath(job.name)}/backfill`, { from: iso(from.value), to: iso(to.value) }),
        );
      },
    },
    h('label', { for: 'backfill-from' }, 'Backfill from (UTC)', from),
    h('label', { for: 'backfill-to' }, 'to (UTC)', to),
    h('button', { type: 'submit' }, 'Backfill missed slots'),
  );
}

/** Bars oldest to newest: height is the duration, colour (and the legend's words) the outcome. */
function durationChart(runs) {
  if (runs.length === 0) return h('p', { class: 'empty' }, 'No run to chart yet.');
  const ordered = [...runs].reverse();
  const width = 600;
  const height = 160;
  const pad = { left: 44, right: 8, top: 10, bottom: 22 };
  const longest = Math.max(1, ...ordered.map((run) => run.durationMs ?? 0));
  const step = (width - pad.left - pad.right) / ordered.length;
  const counts = {};
  for (const run of ordered) counts[run.status] = (counts[run.status] ?? 0) + 1;
  const label = `Last ${ordered.length} runs: ${Object.entries(counts)
    .map(([key, count]) => `${count} ${key}`)
    .join(', ')}; longest ${duration(longest)}.`;
  const svg = s('svg', {
    viewBox: `0 0 ${width} ${height}`,
    class: 'chart',
    role: 'img',
    'aria-label': label,
    id: 'duration-chart',
  });
  svg.append(s('title', {}, label));
  const baseline = height - pad.bottom;
  svg.append(
    s('line', {
      x1: pad.left,
      x2: width - pad.right,
      y1: baseline,
      y2: baseline,
      stroke: 'currentColor',
      'stroke-opacity': 0.3,
    }),
  );
  svg.append(s('text', { x: 4, y: pad.top + 8 }, duration(longest)));
  svg.append(s('text', { x: 4, y: baseline }, '0'));
  ordered.forEach((run, index) => {
    const value = run.durationMs ?? 0;
    const barHeight = Math.max(2, (value / longest) * (baseline - pad.top));
    const rect = s('rect', {
      x: pad.left + index * step + step * 0.15,
      y: baseline - barHeight,
      width: Math.max(1, step * 0.7),
      height: barHeight,
      fill: STATUS_COLORS[run.status] ?? 'var(--idle)',
      'data-status': run.status,
    });
    rect.append(s('title', {}, `${run.startedAt}: ${run.status}, ${duration(run.durationMs)}`));
    svg.append(rect);
  });
  const first = ordered[0].startedAt.slice(0, 16).replace('T', ' ');
  const last = ordered.at(-1).startedAt.slice(0, 16).replace('T', ' ');
  svg.append(s('text', { x: pad.left, y: height - 6 }, first));
  svg.append(s('text', { x: width - pad.right, y: height - 6, 'text-anchor': 'end' }, last));
  const legend = h(
    'ul',
    { class: 'legend', 'aria-label': 'Legend' },
    Object.entries(counts).map(([key, count]) => h('li', {}, badge(key), ` ${count}`)),
  );
  return [svg, legend];
}

function runView(job, runId, params) {
  const details = h('section', { 'aria-label': 'Run details' });
  return {
    title: runId,
    render: () => [
      h(
        'p',
        { class: 'crumbs' },
        h('a', { href: '#/' }, 'Cluster'),
        ' › ',
        h('a', { href: `#/job/${enc(job)}` }, job),
        ' › run',
      ),
      h('h1', {}, 'Run ', h('code', {}, runId)),
      details,
    ],
    async load() {
      const at = params.get('at');
      const run = await api(`${jobPath(job)}/runs/${enc(runId)}${at ? `?at=${enc(at)}` : ''}`);
      const fact = (label, value, id) => h('div', {}, h('dt', {}, label), h('dd', id ? { id } : {}, value));
      swap(
        details,
        h(
          'dl',
          { class: 'facts' },
          fact('Status', badge(run.status), 'run-status'),
          fact('Trigger', run.trigger),
          fact('Attempts', String(run.attempts)),
          fact('Duration', duration(run.durationMs)),
          fact('Instance', run.workerId ?? '—'),
          fact('Epoch', run.epoch === null ? '—' : String(run.epoch)),
          fact('Slot', time(run.slot)),
          fact('Started', time(run.startedAt)),
          fact(
            'Start lateness (start − slot)',
            run.latenessMs === null ? '— (manual run)' : duration(run.latenessMs),
          ),
          fact('Finished', time(run.finishedAt)),
        ),
        run.error
          ? [
              h('h2', {}, 'Error'),
              h(
                'p',
                { class: 'note error-box', id: 'run-error' },
                `${run.error.name}${run.error.code ? ` [${run.error.code}]` : ''}: ${run.error.message}`,
              ),
            ]
          : null,
      );
    },
  };
}

// ── Routing and refresh ───────────────────────────────────────────────────────────────────────

function route() {
  const hash = location.hash || '#/';
  if (!hash.startsWith('#/')) return false;
  const [path, search = ''] = hash.slice(2).split('?');
  const params = new URLSearchParams(search);
  const parts = path.split('/').map(decodeURIComponent);
  if (parts[0] === 'job' && parts[1]) view = jobView(parts[1], params);
  else if (parts[0] === 'run' && parts[1] && parts[2]) view = runView(parts[1], parts[2], params);
  else view = overview();
  document.title = `${view.title} · s3-scheduler`;
  main.replaceChildren(...view.render().filter(Boolean));
  return true;
}

let loading = null;
async function refresh() {
  // A refresh asked for during a load (after an action) must see the action: run once more after.
  if (loading) return loading.then(() => refresh());
  const current = view;
  loading = (async () => {
    const updated = document.getElementById('updated');
    try {
      await current.load();
      updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
      body.dataset.loaded = String(Number(body.dataset.loaded ?? 0) + 1);
    } catch (error) {
      updated.textContent =
        error.status === 401 || error.status === 403
          ? 'Not authorised'
          : `Could not refresh: ${error.message}`;
    }
  })();
  try {
    await loading;
  } finally {
    loading = null;
  }
}

document.getElementById('mode').textContent = READ_ONLY ? 'Read-only' : 'Actions enabled';
window.addEventListener('hashchange', () => {
  if (route()) {
    refresh();
    main.focus();
  }
});
route();
refresh();
setInterval(() => {
  if (document.visibilityState === 'visible') refresh();
}, REFRESH_MS);
