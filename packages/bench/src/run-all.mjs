// Runs every benchmark, each in its own child process (`node --expose-gc`, so heap readings are
// clean and one benchmark's timers cannot disturb another's), then writes
// bench-results/results.json and bench-results/results.md at the repository root.
//   pnpm bench                 (from the root: every package's bench, this one included)
//   pnpm --filter @s3-scheduler/bench bench
//   BENCH_QUICK=1 ...          tiny sizes, a smoke run of the whole chain
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QUICK } from './lib.mjs';
import { renderMarkdown } from './render.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');

const BENCHMARKS = [
  ['requests', 'requests.mjs', []],
  ['lateness:ours', 'lateness.mjs', ['ours']],
  ['lateness:ours-unbounded', 'lateness.mjs', ['ours-unbounded']],
  ['lateness:croner', 'lateness.mjs', ['croner']],
  ['lateness:node-cron', 'lateness.mjs', ['node-cron']],
  ['lateness:ours-1m', 'lateness.mjs', ['ours-1m']],
  ['burst-garbage', 'burst-garbage.mjs', []],
  ['scale:ours', 'scale.mjs', ['ours']],
  ['scale:ours-shared', 'scale.mjs', ['ours-shared']],
  ['scale:croner', 'scale.mjs', ['croner']],
  ['scale:node-cron', 'scale.mjs', ['node-cron']],
  ['history', 'history.mjs', []],
  ['failover', 'failover.mjs', []],
  ['s3', 's3-throughput.mjs', []],
  ['next', 'next-throughput.mjs', []],
];

const only = process.argv.slice(2);
const results = {};
const started = Date.now();
let failures = 0;
for (const [name, script, args] of BENCHMARKS) {
  if (only.length > 0 && !only.some((prefix) => name.startsWith(prefix))) continue;
  const t0 = Date.now();
  process.stdout.write(`bench ${name} … `);
  const child = spawnSync(process.execPath, ['--expose-gc', join(here, script), ...args], {
    cwd: resolve(here, '..'),
    encoding: 'utf8',
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
    maxBuffer: 64 * 1024 * 1024,
    timeout: QUICK ? 60_000 : 600_000,
  });
  const line = child.stdout
    ?.split('\n')
    .reverse()
    .find((l) => l.startsWith('RESULT '));
  if (child.status === 0 && line) {
    results[name] = JSON.parse(line.slice('RESULT '.length));
    console.log(`${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } else {
    failures++;
    results[name] = {
      error: `exit ${child.status ?? child.signal}: ${(child.stderr ?? '').trim().slice(-2000)}`,
    };
    console.log('FAILED');
    console.error(results[name].error);
  }
}

const machine = {
  node: process.version,
  platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
};
const output = {
  date: new Date().toISOString(),
  quick: QUICK,
  durationS: (Date.now() - started) / 1000,
  machine,
  results,
};
const outDir = join(root, 'bench-results');
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(output, null, 2)}\n`);
const markdown = renderMarkdown(output);
writeFileSync(join(outDir, 'results.md'), markdown);
console.log(`\n${markdown}`);
console.log(`Wrote ${join(outDir, 'results.json')} and results.md`);
if (failures > 0) process.exitCode = 1;
