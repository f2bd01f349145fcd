#!/usr/bin/env node
// The packages as users receive them. Packs every publishable package (`pnpm pack`, which rewrites
// `workspace:` and `catalog:`), installs the tarballs with plain npm into temporary projects
// outside the workspace, and there:
//   1. checks each tarball: LICENSE and README present, no source maps, no test files;
//   2. cron alone: installs only @s3-scheduler/cron (and what it needs), checks that nothing else
//      came along, and runs the first example of its README;
//   3. an embedded-store user: installs every package without the AWS SDK, runs the plugin README's
//      quick start, imports every `./testing` subpath without vitest, `require()`s each package,
//      and checks that `s3://` then fails with MISSING_DEPENDENCY;
//   4. type-checks a TypeScript consumer of every entry point under `nodenext` and `bundler`;
//   5. with S3_ENDPOINT set, an S3 user: installs the SDK, uses an s3:// store, and nothing (no
//      SDK Node-version warning either) reaches stderr.
// Needs the packages built (`pnpm turbo run build`) and the npm registry (for typescript,
// @types/node and the packages' own dependencies). Prints install sizes; exits 1 on any failure.
// Usage: node scripts/pack-check.mjs [--keep]   (--keep leaves the temporary directory)
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const keep = process.argv.includes('--keep');
const work = mkdtempSync(join(tmpdir(), 's3-scheduler-pack-'));
const started = Date.now();
const catalog = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8');
const pinned = (name) => {
  const match = catalog.match(new RegExp(`^\\s+"?${name.replace('/', '\\/')}"?: (\\S+)$`, 'm'));
  if (!match) throw new Error(`${name} is not in the catalog of pnpm-workspace.yaml`);
  return match[1];
};

function log(message) {
  console.log(`[pack-check ${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);
}

function run(command, args, cwd, options = {}) {
  try {
    return execFileSync(command, args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      ...options,
    });
  } catch (error) {
    console.error(
      `FAILED in ${cwd}: ${command} ${args.join(' ')}\n${error.stdout ?? ''}${error.stderr ?? ''}`,
    );
    throw error;
  }
}

function fail(message) {
  console.error(`pack-check: ${message}`);
  process.exitCode = 1;
}

function duKb(dir) {
  return Number(run('du', ['-sk', dir], work).split('\t')[0]);
}

/** The first ```ts block after `heading` (or the first of the file) of an installed README. */
function readmeBlock(readme, heading) {
  const text = readFileSync(readme, 'utf8');
  const from = heading ? text.indexOf(heading) : 0;
  if (from < 0) throw new Error(`${readme}: no heading '${heading}'`);
  const match = text.slice(from).match(/```ts\n([\s\S]*?)```/);
  if (!match) throw new Error(`${readme}: no ts block after '${heading}'`);
  return match[1];
}

/** Creates a project `name` and installs `deps` into it with npm (resolves with its directory). */
function npmProject(name, deps) {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }, null, 2));
  return new Promise((resolve, reject) => {
    execFile(
      'npm',
      ['install', '--no-audit', '--no-fund', '--loglevel=error', ...deps],
      { cwd: dir },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`npm install in ${dir} failed:\n${stdout}${stderr}`));
        else resolve(dir);
      },
    );
  });
}

/** Compiles `file` (in `dir`) with the tools project's tsc under `options`, to JS beside it. */
function tsc(dir, compilerOptions, files, { noEmit = false } = {}) {
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        strict: true,
        skipLibCheck: false,
        types: ['node'],
        typeRoots: [join(tools, 'node_modules', '@types')],
        noEmit,
        ...compilerOptions,
      },
      files,
    }),
  );
  run(join(tools, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], dir);
}

// 1. Pack.
const packagesDir = join(root, 'packages');
const publishable = readdirSync(packagesDir)
  .map((name) => ({ name, dir: join(packagesDir, name) }))
  .filter(({ dir }) => existsSync(join(dir, 'package.json')))
  .map((entry) => ({ ...entry, manifest: JSON.parse(readFileSync(join(entry.dir, 'package.json'), 'utf8')) }))
  .filter(({ manifest }) => !manifest.private);
const tarballs = join(work, 'tarballs');
mkdirSync(tarballs);
run(
  'pnpm',
  [
    '-r',
    ...publishable.flatMap(({ manifest }) => ['--filter', manifest.name]),
    'pack',
    '--pack-destination',
    tarballs,
  ],
  root,
);
const license = readFileSync(join(root, 'LICENSE'), 'utf8');
const tarball = {};
for (const { manifest } of publishable) {
  const out = join(tarballs, `${manifest.name.slice(1).replace('/', '-')}-${manifest.version}.tgz`);
  tarball[manifest.name] = out;
  const files = run('tar', ['tzf', out], work).trim().split('\n');
  const size = Number(run('stat', ['-c', '%s', out], work));
  for (const required of ['package/LICENSE', 'package/README.md', 'package/package.json']) {
    if (!files.includes(required)) fail(`${manifest.name}: ${required} missing from the tarball`);
  }
  const maps = files.filter((f) => f.endsWith('.map'));
  if (maps.length > 0) fail(`${manifest.name}: ships source maps without their sources: ${maps.join(', ')}`);
  const tests = files.filter((f) => /\.test\./.test(f));
  if (tests.length > 0) fail(`${manifest.name}: ships test files: ${tests.join(', ')}`);
  if (files.includes('package/LICENSE') && run('tar', ['xzOf', out, 'package/LICENSE'], work) !== license) {
    fail(`${manifest.name}: its LICENSE differs from the repository's`);
  }
  const packed = JSON.parse(run('tar', ['xzOf', out, 'package/package.json'], work));
  const raw = JSON.stringify(packed);
  if (raw.includes('workspace:') || raw.includes('catalog:')) fail(`${manifest.name}: unrewritten specifier`);
  log(`${manifest.name}@${packed.version}: ${files.length} files, ${(size / 1024).toFixed(1)} KB`);
}
const all = Object.values(tarball);

// Three projects, installed at once. Tools (typescript, @types/node) live apart, so that the user
// projects hold only what users install: cron alone, and every package without the AWS SDK.
const [tools, cronOnly, app, s3User] = await Promise.all([
  npmProject('tools', [`typescript@${pinned('typescript')}`, `@types/node@${pinned('@types/node')}`]),
  npmProject('cron-only', [tarball['@s3-scheduler/core'], tarball['@s3-scheduler/cron']]),
  npmProject('embedded', all),
  process.env.S3_ENDPOINT
    ? npmProject('s3-user', [
        tarball['@s3-scheduler/core'],
        tarball['@s3-scheduler/storage'],
        `@aws-sdk/client-s3@${pinned('@aws-sdk/client-s3')}`,
      ])
    : undefined,
]);
log('installed: tools, cron alone, every package');

// 2. Cron alone.
const cronDeps = run('npm', ['ls', '--all', '--parseable'], cronOnly)
  .trim()
  .split('\n')
  .slice(1)
  .map((p) => p.slice(p.indexOf('node_modules/') + 'node_modules/'.length))
  .sort();
if (JSON.stringify(cronDeps) !== JSON.stringify(['@s3-scheduler/core', '@s3-scheduler/cron', 'luxon'])) {
  fail(`cron alone installed more than core and luxon: ${cronDeps.join(', ')}`);
}
writeFileSync(
  join(cronOnly, 'example.ts'),
  readmeBlock(join(cronOnly, 'node_modules/@s3-scheduler/cron/README.md'), '# @s3-scheduler/cron'),
);
tsc(cronOnly, { module: 'nodenext', moduleResolution: 'nodenext' }, ['example.ts']);
const cronOut = run(process.execPath, ['example.js'], cronOnly);
log(
  `cron README example ran (${cronOut.trim().split('\n').length} lines of output); cron alone: ${duKb(join(cronOnly, 'node_modules'))} KB installed (${cronDeps.join(', ')})`,
);

// 3. An embedded-store user: every package, no AWS SDK, no vitest.
if (existsSync(join(app, 'node_modules', '@aws-sdk')))
  fail('the AWS SDK was installed for an embedded-store user');
if (existsSync(join(app, 'node_modules', 'vitest'))) fail('vitest was installed for a user');
log(`embedded-store user (every package): ${duKb(join(app, 'node_modules'))} KB installed`);
writeFileSync(
  join(app, 'quick-start.ts'),
  readmeBlock(join(app, 'node_modules/@s3-scheduler/plugin/README.md'), '## Quick start'),
);
tsc(app, { module: 'nodenext', moduleResolution: 'nodenext' }, ['quick-start.ts']);
const { SCHEDULER_STORE: _, ...env } = process.env; // the quick start's embedded store
const quickStart = run(process.execPath, ['quick-start.js'], app, { env });
if (!quickStart.includes('completed')) fail(`the plugin quick start did not complete a run:\n${quickStart}`);
log('plugin README quick start ran');

const names = publishable.map(({ manifest }) => manifest.name);
const testingSubpaths = publishable
  .filter(({ manifest }) => manifest.exports['./testing'])
  .map(({ manifest }) => `${manifest.name}/testing`);
const requireAll = names
  .map(
    (name) =>
      `{ const m = require(${JSON.stringify(name)}); if (Object.keys(m).length === 0) throw new Error('${name}: empty'); }`,
  )
  .join('\n');
run(process.execPath, ['-e', requireAll], app);
const imports = testingSubpaths.map((name) => `await import(${JSON.stringify(name)});`).join('\n');
run(process.execPath, ['--input-type=module', '-e', imports], app);
const s3 = run(
  process.execPath,
  [
    '--input-type=module',
    '-e',
    `import { connect } from '@s3-scheduler/storage';
     const error = await connect('s3://bucket/x?endpoint=http://127.0.0.1:9').catch((e) => e);
     console.log(error.code);`,
  ],
  app,
);
if (s3.trim() !== 'MISSING_DEPENDENCY')
  fail(`s3:// without the SDK gave ${s3.trim()}, not MISSING_DEPENDENCY`);
log(
  `required ${names.length} packages, imported ${testingSubpaths.join(', ')} without vitest; s3:// without the SDK: MISSING_DEPENDENCY`,
);

// 4. A TypeScript consumer of every entry point, under nodenext and bundler.
const consumer = [
  ...publishable.flatMap(({ manifest }) =>
    Object.keys(manifest.exports)
      .filter((subpath) => subpath !== './package.json' && subpath !== './conformance')
      .map((subpath, i) => {
        const specifier = subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`;
        const alias = `${manifest.name.split('/')[1]}${i}`.replace(/-/g, '_');
        return `import * as ${alias} from '${specifier}';\nvoid ${alias};`;
      }),
  ),
  `import { SchedulerPlugin } from '@s3-scheduler/plugin';`,
  `import { parseCron } from '@s3-scheduler/cron';`,
  `const plugin: SchedulerPlugin = new SchedulerPlugin({ jobs: { a: { schedule: '* * * * *', action: async () => 1 } } });`,
  `const next: Date | null = parseCron('0 8 * * *').next(new Date());`,
  'void plugin; void next;',
].join('\n');
for (const [label, options] of [
  ['nodenext', { module: 'nodenext', moduleResolution: 'nodenext' }],
  ['bundler', { module: 'esnext', moduleResolution: 'bundler' }],
]) {
  const dir = join(app, `ts-${label}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'consumer.ts'), consumer);
  // skipLibCheck stays false: the declarations must check without the AWS SDK or vitest installed.
  tsc(dir, options, ['consumer.ts'], { noEmit: true });
  log(`TypeScript consumer of every entry point type-checks under ${label} (skipLibCheck: false)`);
}

// 5. An S3 user on this Node (when a test server is configured: S3_ENDPOINT and the S3_* of
// scripts/s3-server.sh env): installs the optional SDK, opens an s3:// store, and checks that
// nothing reaches stderr (the SDK's Node-version warning included) on a supported Node line.
if (s3User) {
  const {
    S3_ENDPOINT,
    S3_ACCESS_KEY_ID = '',
    S3_SECRET_ACCESS_KEY = '',
    S3_BUCKET = 's3-scheduler-test',
  } = process.env;
  const credentials = S3_ACCESS_KEY_ID
    ? `${encodeURIComponent(S3_ACCESS_KEY_ID)}:${encodeURIComponent(S3_SECRET_ACCESS_KEY)}@`
    : '';
  const url = `s3://${credentials}${S3_BUCKET}/pack-check-${process.pid}?endpoint=${encodeURIComponent(S3_ENDPOINT)}&forcePathStyle=true`;
  writeFileSync(
    join(s3User, 's3.mjs'),
    `import { connect, PluginStorage } from '@s3-scheduler/storage';
     const storage = new PluginStorage(await connect(process.argv[2]), 'pack-check');
     await storage.set('k', 1);
     await storage.delete('k');
     console.log('ok');`,
  );
  const result = spawnSync(process.execPath, ['s3.mjs', url], { cwd: s3User, encoding: 'utf8' });
  if (result.status !== 0 || result.stdout.trim() !== 'ok') {
    fail(`the S3 user failed:\n${result.stdout}${result.stderr}`);
  } else if (result.stderr.trim() !== '') {
    fail(`the S3 user's terminal got stderr on Node ${process.version}:\n${result.stderr}`);
  } else {
    log(
      `S3 user (with @aws-sdk/client-s3): opened, wrote and deleted on ${S3_ENDPOINT}, nothing on stderr under Node ${process.version}; ${duKb(join(s3User, 'node_modules'))} KB installed`,
    );
  }
} else {
  log('S3 user: skipped (no S3_ENDPOINT)');
}

if (keep) log(`left ${work}`);
else rmSync(work, { recursive: true, force: true });
log(process.exitCode ? 'FAILED' : `passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
