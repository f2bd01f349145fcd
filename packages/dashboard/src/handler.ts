import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Clock, isSchedulerError, redactText, SchedulerError } from '@s3-scheduler/core';
import { ClusterReadModel, type ObjectStore, type SchedulerPlugin } from '@s3-scheduler/plugin';
import { pluginSource } from './plugin-source.js';
import { readModelSource } from './read-model-source.js';
import { scheduleInWords } from './schedule-text.js';
import type { DashboardSource, RunStatus, RunView } from './source.js';

/** Options of `createDashboardHandler` (and `runDashboardCommand`). */
export interface DashboardOptions {
  /**
   * The cluster's store (what the plugins were given, or `connect(connectionString)`): the
   * dashboard reads the bucket through the read model (`readModelSource`), with no instance of
   * the app. Give exactly one of `store`, `plugin` and `source`.
   */
  store?: ObjectStore;
  /** With `store`: the plugins' `keyPrefix`, when `store` is the bare bucket. */
  keyPrefix?: string;
  /** With `store`: the plugins' `historyResource`, when not the default. */
  historyResource?: string;
  /** A running `SchedulerPlugin` of the cluster: shares its store connection (`pluginSource`). */
  plugin?: SchedulerPlugin;
  /** Any `DashboardSource`. */
  source?: DashboardSource;
  /**
   * Where `store` and `plugin` sources take "now" from (lease liveness, next runs, the cluster
   * view's `now`). Default the system clock; tests pass the plugins' `ManualClock`.
   */
  clock?: Clock;
  /** `true` (default): no pause, resume, trigger or backfill; those requests get 403. */
  readOnly?: boolean;
  /**
   * The path the dashboard is served under, e.g. `/scheduler` (default: the root). Requests whose
   * URL starts with it have it removed (node:http, Fastify, Hono); requests a framework already
   * stripped (Express `app.use(path, …)`) are taken as they come. The page links under it.
   */
  basePath?: string;
  /**
   * Called for every request, pages and API alike; `false` (or a rejection) answers 401 and
   * runs nothing. Default: every request is allowed, so put the dashboard behind your own
   * authentication or pass this hook.
   */
  auth?: (req: IncomingMessage) => boolean | Promise<boolean>;
  /** How often the page refreshes its data, ms (default 5000, at least 1000). */
  refreshInterval?: number;
  /**
   * Told of every request that failed with a 500 (the page only says "see the server log"),
   * with secrets masked. Default: `console.error`.
   */
  onError?: (error: Error) => void;
}

const defaultOnError = (error: Error) => console.error(`[s3-scheduler dashboard] ${error.message}`);

/** A plain Node request handler; `next` (Express, Connect) is accepted and never called. */
export type DashboardHandler = (req: IncomingMessage, res: ServerResponse, next?: unknown) => void;

const STATUSES: readonly RunStatus[] = [
  'running',
  'completed',
  'failed',
  'timeout',
  'cancelled',
  'abandoned',
  'skipped',
];
const MAX_BODY_BYTES = 16 * 1024;
const MAX_PAGE = 100;
const ASSETS: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};
const SECURITY_HEADERS: Record<string, string> = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
};

/**
 * The dashboard as one `(req, res) => void` handler: the page (`/`), its assets (`/assets/…`)
 * and a JSON API (`/api/…`) under `basePath`. Throws `SchedulerError` `INVALID_OPTION` when
 * not exactly one of `store`, `plugin` and `source` is given, or an option has the wrong type.
 */
export function createDashboardHandler(options: DashboardOptions): DashboardHandler {
  const config = checkOptions(options);
  const clockOption = options.clock === undefined ? {} : { clock: options.clock };
  const source =
    options.source ??
    (options.plugin
      ? pluginSource(options.plugin, clockOption)
      : readModelSource(
          new ClusterReadModel(options.store!, {
            ...clockOption,
            ...(options.keyPrefix === undefined ? {} : { keyPrefix: options.keyPrefix }),
            ...(options.historyResource === undefined ? {} : { historyResource: options.historyResource }),
          }),
          clockOption,
        ));
  const assets = new URL('../assets/', import.meta.url);
  const indexHtml = readFileSync(new URL('index.html', assets), 'utf8')
    .replaceAll('{{base}}', escapeHtml(`${config.basePath}/`))
    .replaceAll('{{readOnly}}', String(config.readOnly))
    .replaceAll('{{refresh}}', String(config.refreshInterval));
  const files = new Map(Object.keys(ASSETS).map((name) => [name, readFileSync(new URL(name, assets))]));

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const auth = options.auth;
    // A hook that throws or rejects denies, like one that answers false.
    if (
      auth &&
      (await Promise.resolve()
        .then(() => auth(req))
        .catch(() => false)) !== true
    ) {
      return sendJson(res, 401, { error: { code: 'UNAUTHORIZED', message: 'Not authorised.' } });
    }
    // Prefixed, not resolved against a base: a path such as `//` is a path here, not a host.
    const url = new URL(`http://dashboard.invalid${req.url?.startsWith('/') ? req.url : '/'}`);
    let path = url.pathname;
    if (config.basePath && (path === config.basePath || path.startsWith(`${config.basePath}/`))) {
      path = path.slice(config.basePath.length);
    }
    if (path === '') {
      res.writeHead(308, { ...SECURITY_HEADERS, location: `${config.basePath}/` });
      return void res.end();
    }
    const method = req.method ?? 'GET';
    if (path === '/' || path === '/index.html') {
      if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(res);
      return send(res, 200, 'text/html; charset=utf-8', indexHtml);
    }
    if (path.startsWith('/assets/')) {
      const name = path.slice('/assets/'.length);
      const body = files.get(name);
      if (!body) return notFound(res);
      return send(res, 200, ASSETS[name]!, body);
    }
    if (!path.startsWith('/api/')) return notFound(res);
    const parts = path.slice('/api/'.length).split('/').map(decodeSegment);

    if (method === 'GET') {
      if (parts.length === 1 && parts[0] === 'cluster') {
        return sendJson(res, 200, { ...(await source.cluster()), readOnly: config.readOnly });
      }
      if (parts.length === 1 && parts[0] === 'jobs') {
        const jobs = await source.jobs();
        return sendJson(res, 200, {
          readOnly: config.readOnly,
          jobs: jobs.map((job) => ({ ...job, scheduleText: scheduleInWords(job.schedule) })),
        });
      }
      if (parts.length === 3 && parts[0] === 'jobs' && parts[2] === 'history') {
        const page = await source.history(parts[1]!, historyQuery(url.searchParams));
        return sendJson(res, 200, { runs: page.runs.map(safeRun), nextCursor: page.nextCursor });
      }
      if (parts.length === 4 && parts[0] === 'jobs' && parts[2] === 'runs') {
        const at = url.searchParams.get('at') ?? undefined;
        const run = await source.run(parts[1]!, parts[3]!, at);
        if (!run) return notFound(res, 'No run with that id.');
        return sendJson(res, 200, safeRun(run));
      }
      return notFound(res);
    }
    if (method !== 'POST') return methodNotAllowed(res);
    if (parts.length !== 3 || parts[0] !== 'jobs') return notFound(res);
    const [, job, action] = parts as [string, string, string];
    if (!['pause', 'resume', 'trigger', 'backfill'].includes(action)) return notFound(res);
    if (config.readOnly) {
      return sendJson(res, 403, {
        error: {
          code: 'READ_ONLY',
          message: 'This dashboard is read-only.',
          suggestion: 'Start it with readOnly: false (the CLI: s3-scheduler dashboard --allow-actions).',
        },
      });
    }
    // A JSON body cannot be sent cross-site without a CORS preflight, which this handler never
    // grants: a form on another site cannot make a browser act here.
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
      return sendJson(res, 415, { error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Send JSON.' } });
    }
    const body = await readJson(req);
    if (action === 'pause') {
      const note =
        typeof body.note === 'string' && body.note.trim() ? body.note.trim() : 'Paused from the dashboard';
      await source.pause(job, note);
      return sendJson(res, 200, { message: `Paused ${job}` });
    }
    if (action === 'resume') {
      await source.resume(job);
      return sendJson(res, 200, { message: `Resumed ${job}` });
    }
    if (action === 'trigger') return sendJson(res, 200, await source.trigger(job));
    if (typeof body.from !== 'string' || typeof body.to !== 'string') {
      throw new SchedulerError('backfill needs { from, to } as ISO instants', {
        code: 'INVALID_OPTION',
        operation: 'backfill',
        metadata: { from: body.from, to: body.to },
        suggestion: 'Send {"from":"2026-01-01T00:00:00Z","to":"2026-01-02T00:00:00Z"}.',
      });
    }
    return sendJson(res, 200, await source.backfill(job, { from: body.from, to: body.to }));
  };

  return (req, res) => {
    route(req, res).catch((error: unknown) => {
      if (res.headersSent) return void res.end();
      // Only a SchedulerError's 4xx reaches the page (its message is redacted by construction);
      // anything else may come from the store, so the page gets a generic answer.
      if (isSchedulerError(error) && error.statusCode >= 400 && error.statusCode < 500) {
        return sendJson(res, error.statusCode, {
          error: { code: error.code, message: error.message, suggestion: error.suggestion ?? null },
        });
      }
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      (options.onError ?? defaultOnError)(new Error(redactText(message)));
      sendJson(res, 500, {
        error: { code: 'INTERNAL', message: 'The dashboard could not answer; see the server log.' },
      });
    });
  };
}

interface CheckedOptions {
  readOnly: boolean;
  basePath: string;
  refreshInterval: number;
}

function checkOptions(options: DashboardOptions): CheckedOptions {
  const invalid = (option: string, value: unknown, expected: string) =>
    new SchedulerError(`Dashboard option ${option} must be ${expected}`, {
      code: 'INVALID_OPTION',
      operation: 'createDashboardHandler',
      metadata: { option, value: typeof value === 'object' && value !== null ? '[object]' : value },
      suggestion: `Pass ${option} as ${expected}.`,
    });
  if (typeof options !== 'object' || options === null) throw invalid('options', options, 'an object');
  const given = (['store', 'plugin', 'source'] as const).filter((name) => options[name] !== undefined);
  if (given.length !== 1) {
    throw invalid('store', given.join(', ') || undefined, 'given, or plugin, or source: exactly one of them');
  }
  const readOnly = options.readOnly ?? true;
  if (typeof readOnly !== 'boolean') throw invalid('readOnly', readOnly, 'a boolean');
  const basePath = (options.basePath ?? '').replace(/\/+$/, '');
  if (
    typeof options.basePath !== 'undefined' &&
    (typeof options.basePath !== 'string' || !/^(\/[\w.~-]+)*\/?$/.test(options.basePath))
  ) {
    throw invalid('basePath', options.basePath, "a path such as '/scheduler'");
  }
  if (options.auth !== undefined && typeof options.auth !== 'function')
    throw invalid('auth', options.auth, 'a function');
  if (options.onError !== undefined && typeof options.onError !== 'function')
    throw invalid('onError', options.onError, 'a function');
  const refreshInterval = options.refreshInterval ?? 5000;
  if (!Number.isInteger(refreshInterval) || refreshInterval < 1000) {
    throw invalid('refreshInterval', refreshInterval, 'an integer number of ms, at least 1000');
  }
  return { readOnly, basePath, refreshInterval };
}

function historyQuery(params: URLSearchParams) {
  const status = params.get('status') || undefined;
  if (status !== undefined && !STATUSES.includes(status as RunStatus)) {
    throw new SchedulerError(`Unknown run status '${status}'`, {
      code: 'INVALID_OPTION',
      operation: 'history',
      metadata: { status },
      suggestion: `Use one of ${STATUSES.join(', ')}.`,
    });
  }
  const cursor = params.get('cursor') || undefined;
  const given = params.get('limit');
  const limit = Number(given ?? 20);
  if (!Number.isInteger(limit) || limit < 1) {
    throw new SchedulerError(`limit must be a whole number from 1 to ${MAX_PAGE}, got '${given}'`, {
      code: 'INVALID_OPTION',
      operation: 'history',
      metadata: { limit: given },
      suggestion: `Pass limit=20 (at most ${MAX_PAGE}; more is capped).`,
    });
  }
  return {
    limit: Math.min(limit, MAX_PAGE),
    ...(status ? { status: status as RunStatus } : {}),
    ...(cursor ? { cursor } : {}),
  };
}

/** Run errors are the app's own text: redacted once more, as the page may be shown widely. */
function safeRun(run: RunView): RunView {
  return run.error ? { ...run, error: { ...run.error, message: redactText(run.error.message) } } : run;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      throw new SchedulerError('Request body too large', {
        code: 'INVALID_OPTION',
        operation: 'dashboard',
        metadata: { bytes: size, limit: MAX_BODY_BYTES },
        suggestion: 'Send a small JSON object.',
      });
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch {
    // Answered below.
  }
  throw new SchedulerError('Request body is not a JSON object', {
    code: 'INVALID_OPTION',
    operation: 'dashboard',
    metadata: { bytes: size },
    suggestion: 'Send a JSON object, e.g. {"note":"maintenance"}.',
  });
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': type,
    'content-length': Buffer.byteLength(body),
  });
  res.end(res.req?.method === 'HEAD' ? undefined : body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
}

function notFound(res: ServerResponse, message = 'Not found.'): void {
  sendJson(res, 404, { error: { code: 'NOT_FOUND', message } });
}

function methodNotAllowed(res: ServerResponse): void {
  sendJson(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'Method not allowed.' } });
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new SchedulerError('A path segment is not valid percent-encoding', {
      code: 'INVALID_OPTION',
      operation: 'dashboard',
      metadata: { segment },
      suggestion: 'Encode job names and run ids with encodeURIComponent.',
    });
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
