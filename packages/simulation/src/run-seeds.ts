import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SimulationReport } from './simulation.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/**
 * Runs each seed in a fresh process (`node dist/cli.js --seed N --days D --json`), `jobs` at a
 * time: exactly the command a failure message prints, so what CI saw is what a developer
 * reproduces, with no state carried from one seed to the next. Needs the package built.
 */
export async function runSeedsInProcesses(
  seeds: readonly number[],
  days: number,
  jobs = 2,
  onReport: (report: SimulationReport) => void = () => undefined,
): Promise<SimulationReport[]> {
  const reports: SimulationReport[] = [];
  const queue = [...seeds];
  const worker = async () => {
    for (let seed = queue.shift(); seed !== undefined; seed = queue.shift()) {
      const report = await runOne(seed, days);
      reports.push(report);
      onReport(report);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, seeds.length) }, worker));
  return reports.sort((a, b) => seeds.indexOf(a.seed) - seeds.indexOf(b.seed));
}

function runOne(seed: number, days: number): Promise<SimulationReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, '--seed', String(seed), '--days', String(days), '--json'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    child.on('error', reject);
    child.on('close', () => {
      const last = output.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(last) as SimulationReport);
      } catch {
        reject(new Error(`seed ${seed}: no report from the simulation process:\n${output.slice(-2000)}`));
      }
    });
  });
}
