// Shared parts of the side-by-side benchmarks: the S3 server settings, a counting HTTP proxy in
// front of it, request classes and AWS prices, worker processes that report facts as JSON lines on
// fd 3, and clean-up. The parent (orchestrator) side and the worker side both import this file.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, openSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const here = import.meta.dirname;

// The AWS SDK (inside s3db.js and our storage) warns once per process about Node < 22; keep the
// benchmark's output to its figures. Every other warning is still printed.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (!`${warning.name} ${warning.message}`.includes('NodeVersionSupportWarning')) console.error(warning);
});

/** The S3 server: `S3_*` variables, else the project's local server (scripts/s3-server.sh). */
export function s3Settings() {
  const env = process.env;
  return {
    endpoint: env.S3_ENDPOINT ?? 'http://127.0.0.1:7480',
    accessKeyId: env.S3_ACCESS_KEY_ID ?? 's3scheduler',
    secretAccessKey: env.S3_SECRET_ACCESS_KEY ?? 's3scheduler-secret',
    bucket: env.S3_BUCKET ?? 's3-scheduler-test',
    region: env.S3_REGION ?? 'us-east-1',
  };
}

/** s3db.js connection string (custom endpoint: path style, `/<bucket>/<prefix>`). */
export function s3dbConnectionString(endpoint, s3, prefix) {
  const url = new URL(endpoint);
  url.username = encodeURIComponent(s3.accessKeyId);
  url.password = encodeURIComponent(s3.secretAccessKey);
  url.pathname = `/${s3.bucket}/${prefix}`;
  return url.toString();
}

/** Our connection string: `s3://KEY:SECRET@BUCKET/prefix?endpoint=…&forcePathStyle=true&region=…`. */
export function oursConnectionString(endpoint, s3, prefix) {
  const query = new URLSearchParams({ endpoint, forcePathStyle: 'true', region: s3.region });
  return `s3://${encodeURIComponent(s3.accessKeyId)}:${encodeURIComponent(s3.secretAccessKey)}@${s3.bucket}/${prefix}?${query}`;
}

export const newRunId = () =>
  `${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`;

// ---------------------------------------------------------------------------------------------
// Request classes and prices

export const OP_CLASSES = ['PUT', 'COPY', 'POST', 'LIST', 'GET', 'HEAD', 'DELETE', 'OTHER'];
/** AWS S3 Standard, us-east-1 list prices, dollars per 1,000 requests. DELETE is free. */
export const PRICE_PER_1000 = {
  PUT: 0.005,
  COPY: 0.005,
  POST: 0.005,
  LIST: 0.005,
  GET: 0.0004,
  HEAD: 0.0004,
  OTHER: 0.0004,
  DELETE: 0,
};
export const HOURS_PER_MONTH = 730;

// Bucket-level GETs that list (ListObjects(V2), versions, multipart uploads); other bucket
// sub-resources (?location, ?acl, …) are priced as GETs.
const LISTING_QUERY = [
  'list-type',
  'prefix',
  'delimiter',
  'marker',
  'continuation-token',
  'versions',
  'uploads',
];

/** The AWS price class of one request, from its method, path-style URL and headers. */
export function classify(method, rawUrl, headers) {
  const url = new URL(rawUrl, 'http://proxy');
  const segments = url.pathname.split('/').filter(Boolean); // [bucket, ...key]
  const onObject = segments.length >= 2;
  switch (method) {
    case 'GET':
      if (segments.length === 0) return 'LIST'; // ListBuckets
      if (!onObject) {
        const keys = [...url.searchParams.keys()];
        return keys.length === 0 || keys.some((key) => LISTING_QUERY.includes(key)) ? 'LIST' : 'GET';
      }
      return url.searchParams.has('uploadId') ? 'LIST' : 'GET'; // ListParts
    case 'HEAD':
      return 'HEAD';
    case 'PUT':
      return headers['x-amz-copy-source'] ? 'COPY' : 'PUT';
    case 'POST':
      return 'POST'; // DeleteObjects, multipart create/complete: billed as POST
    case 'DELETE':
      return 'DELETE';
    default:
      return 'OTHER';
  }
}

/** Dollars per month for a rate of requests per hour by class. */
export function dollarsPerMonth(perHourByOp) {
  let dollars = 0;
  for (const [op, perHour] of Object.entries(perHourByOp))
    dollars += (perHour * HOURS_PER_MONTH * PRICE_PER_1000[op]) / 1000;
  return dollars;
}

// ---------------------------------------------------------------------------------------------
// Counting proxy

/**
 * A plain HTTP proxy on 127.0.0.1 (random port) that forwards every request unchanged (headers,
 * Host included, so SigV4 signatures stay valid) to `target` and counts it by class at arrival,
 * and by class + status at response. `snapshot()` copies the counters.
 */
export async function startCountingProxy(target) {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const ops = {};
  const statuses = {};
  const server = http.createServer((req, res) => {
    const op = classify(req.method, req.url, req.headers);
    ops[op] = (ops[op] ?? 0) + 1;
    const forward = http.request(
      {
        hostname: upstream.hostname,
        port: upstream.port || 80,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
      },
      (answer) => {
        const key = `${op} ${answer.statusCode}`;
        statuses[key] = (statuses[key] ?? 0) + 1;
        res.writeHead(answer.statusCode, answer.statusMessage, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.on('error', () => forward.destroy());
    req.pipe(forward);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    snapshot: () => ({ ops: { ...ops }, statuses: { ...statuses } }),
    close() {
      server.closeAllConnections();
      server.close();
      agent.destroy();
    },
  };
}

/** Counts in `later` minus counts in `earlier` (both from `snapshot()`). */
export function countsBetween(earlier, later) {
  const minus = (a, b) => Object.fromEntries(Object.entries(b).map(([k, v]) => [k, v - (a[k] ?? 0)]));
  return { ops: minus(earlier.ops, later.ops), statuses: minus(earlier.statuses, later.statuses) };
}

// ---------------------------------------------------------------------------------------------
// Worker processes (parent side)

const children = new Set();
let guarded = false;
/** SIGKILLs every worker still alive; runs on exit, SIGINT, SIGTERM and uncaught errors too. */
export function killAllWorkers() {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
function guardChildren() {
  if (guarded) return;
  guarded = true;
  process.on('exit', killAllWorkers);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'])
    process.on(signal, () => {
      killAllWorkers();
      process.exit(130);
    });
}

/** A directory for the workers' own logs (stdout/stderr of s3db and our plugin). */
export function logDirFor(runId) {
  const dir = path.join(os.tmpdir(), `bench-s3db-${runId}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Starts `node <script> <config JSON>`. The worker writes facts as JSON lines on fd 3 (its
 * stdout/stderr go to `<logDir>/<name>.log`); they collect in `facts`. `until(predicate, ms)`
 * resolves with the first fact matching, or null after `ms`. The worker exits when its stdin
 * closes, so it dies with this process even if this one is SIGKILLed.
 */
export function spawnWorker({ script, name, config, logDir }) {
  guardChildren();
  const log = openSync(path.join(logDir, `${name}.log`), 'a');
  const factLog = openSync(path.join(logDir, 'facts.jsonl'), 'a');
  const env = { ...process.env };
  // Distinct worker ids (s3db derives them from POD_NAME/HOSTNAME), and no hidden test modes.
  for (const key of ['HOSTNAME', 'POD_NAME', 'NODE_ENV', 'JEST_WORKER_ID', 'S3DB_EXECUTOR_ENABLED', 'VITEST'])
    delete env[key];
  const child = spawn(process.execPath, ['--no-warnings', path.join(here, script), JSON.stringify(config)], {
    env,
    stdio: ['pipe', log, log, 'pipe'],
  });
  children.add(child);
  const facts = [];
  const waiters = new Set();
  let buffered = '';
  child.stdio[3].setEncoding('utf8');
  child.stdio[3].on('data', (chunk) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop();
    for (const line of lines.filter(Boolean)) {
      const fact = JSON.parse(line);
      facts.push(fact);
      appendFileSync(factLog, `${line}\n`);
      for (const waiter of [...waiters]) waiter(fact);
    }
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  exited.then(() => {
    children.delete(child);
    for (const waiter of [...waiters]) waiter(null);
  });
  return {
    name,
    child,
    facts,
    exited,
    get alive() {
      return child.exitCode === null && child.signalCode === null;
    },
    until(predicate, ms) {
      const found = facts.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => {
        const done = (fact) => {
          waiters.delete(check);
          clearTimeout(timer);
          resolve(fact);
        };
        const check = (fact) => {
          if (fact === null) done(null);
          else if (predicate(fact)) done(fact);
        };
        const timer = setTimeout(() => done(null), ms);
        waiters.add(check);
      });
    },
    kill(signal = 'SIGKILL') {
      child.kill(signal);
      return exited;
    },
  };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Worker state from its facts: leader if its latest promoted/demoted fact is a promotion. */
export function isLeader(worker) {
  const roles = worker.facts.filter((fact) => fact.role);
  return worker.alive && roles.at(-1)?.role === 'promoted';
}

// ---------------------------------------------------------------------------------------------
// Worker side

/** Inside a worker: `say(fact)` writes one JSON line on fd 3; the worker exits when stdin closes. */
export function workerChannel(name) {
  const out = new net.Socket({ fd: 3, readable: false, writable: true });
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
  return (fact) => out.write(`${JSON.stringify({ worker: name, at: Date.now(), ...fact })}\n`);
}

// ---------------------------------------------------------------------------------------------
// Implementations

/** Per implementation: worker script, connection string, optional set-up and clean-up. */
export const IMPLEMENTATIONS = {
  s3db: {
    label: 's3db.js 21.6.2 SchedulerPlugin',
    script: 's3db-worker.mjs',
    connectionString: s3dbConnectionString,
    // s3db's first connect() under a fresh prefix writes s3db.json after retrying its 404s for
    // ~17 s; do it once here, straight to the server, so the workers start in seconds.
    async setUp(s3, prefix) {
      await withS3dbDatabase(s3, prefix, async () => undefined);
    },
  },
  ours: {
    label: 's3-scheduler SchedulerPlugin',
    script: 'ours-worker.mjs',
    connectionString: oursConnectionString,
    async setUp() {
      if (!existsSync(path.join(here, '../../plugin/dist/index.js')))
        throw new Error('packages/plugin/dist is missing: build the workspace first (pnpm turbo run build)');
    },
  },
};

async function withS3dbDatabase(s3, prefix, use) {
  const before = process.env.S3DB_EXECUTOR_ENABLED;
  process.env.S3DB_EXECUTOR_ENABLED = 'false'; // read when the client is built: no 404 retries
  const { Database } = await import('s3db.js/lite');
  const db = new Database({
    connectionString: s3dbConnectionString(s3.endpoint, s3, prefix),
    logLevel: 'silent',
  });
  try {
    await db.connect();
    return await use(db);
  } finally {
    await db.disconnect().catch(() => undefined);
    if (before === undefined) delete process.env.S3DB_EXECUTOR_ENABLED;
    else process.env.S3DB_EXECUTOR_ENABLED = before;
  }
}

/** Deletes every object under `prefix` (straight to the server, not counted). */
export async function deletePrefix(s3, prefix) {
  return withS3dbDatabase(s3, prefix, (db) => db.client.deleteAll());
}

// ---------------------------------------------------------------------------------------------
// Figures

/** CPUs and load averages at the end of a run: on a shared machine, figures move with load. */
export function machineLoad() {
  return {
    cpus: os.cpus().length,
    loadavg: os.loadavg().map((value) => round(value, 2)),
    node: process.version,
  };
}

export function quantile(values, q) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export const round = (value, digits = 1) =>
  value === null || value === undefined ? null : Number(value.toFixed(digits));

export function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => String(row[i] ?? '').length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) =>
          i === 0 ? String(cell ?? '').padEnd(widths[i]) : String(cell ?? '').padStart(widths[i]),
        )
        .join('  '),
    )
    .join('\n');
}
