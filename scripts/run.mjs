#!/usr/bin/env node
// The README's two commands in one place, for a machine that has only Node and npm:
//   node scripts/run.mjs demo [args…]   install, build, run the demo
//   node scripts/run.mjs test [args…]   install, build, run the whole test suite
// pnpm is installed from the npm registry into .tools/ at the version pinned in package.json
// (corepack rejects the signatures of recent pnpm releases), then put first on PATH.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pinned = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager; // pnpm@x.y.z
const version = pinned.split('@')[1];
const tools = join(root, '.tools');
const env = { ...process.env, PATH: `${join(tools, 'node_modules', '.bin')}:${process.env.PATH}` };

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, env, stdio: 'inherit', ...options });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function ensurePnpm() {
  const probe = spawnSync('pnpm', ['--version'], { env, encoding: 'utf8' });
  if (probe.status === 0 && probe.stdout.trim() === version) return;
  console.error(`Installing pnpm ${version} into .tools/ …`);
  run('npm', [
    'install',
    '--prefix',
    tools,
    '--no-save',
    '--no-audit',
    '--no-fund',
    '--loglevel=error',
    `pnpm@${version}`,
  ]);
}

const [command = 'test', ...rest] = process.argv.slice(2);
ensurePnpm();
run('pnpm', ['install', '--frozen-lockfile', '--reporter=append-only']);

if (command === 'demo') {
  const demo = existsSync(join(root, 'apps', 'demo', 'package.json'));
  // The first build takes about a minute: say so, and show each package as it is built
  // (`new-only`: one line per task built, and a failing task's errors), not a silent minute.
  console.error(
    'Building the packages the demo needs (about a minute the first time; later runs reuse the build)…',
  );
  const started = Date.now();
  run('pnpm', [
    'turbo',
    'run',
    'build',
    '--output-logs=new-only',
    ...(demo ? ['--filter=@s3-scheduler/demo...'] : []),
  ]);
  console.error(`Built in ${Math.round((Date.now() - started) / 1000)} s. Starting the demo…`);
  if (demo) run('pnpm', ['--filter', '@s3-scheduler/demo', 'start', ...rest]);
  else run('node', ['scripts/preview.mjs', ...rest]);
} else if (command === 'test') {
  run('pnpm', ['turbo', 'run', 'build', '--output-logs=errors-only']);
  run('pnpm', ['exec', 'vitest', 'run', '--config', 'vitest.projects.ts', ...rest]);
} else {
  console.error(`Unknown command '${command}'. Use: node scripts/run.mjs demo|test`);
  process.exit(2);
}
