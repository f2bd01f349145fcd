#!/usr/bin/env node
import { isSchedulerError } from '@s3-scheduler/core';
import { parseArgs, USAGE, UsageError } from './args.js';
import { runDemo } from './demo.js';

const interactiveTerminal = Boolean(process.stdout.isTTY && process.stdin.isTTY);

try {
  const options = parseArgs(process.argv.slice(2), interactiveTerminal);
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const interactive = interactiveTerminal && !options.plain && !options.json;
  const { exitCode } = await runDemo(options, {
    // With --json the summary alone goes to stdout, so it can be piped into a tool.
    out: options.json ? process.stderr : process.stdout,
    summaryOut: process.stdout,
    input: process.stdin,
    interactive,
  });
  // A killed instance's requests hang forever by design; nothing else is left to wait for.
  process.exit(exitCode);
} catch (error) {
  if (error instanceof UsageError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  if (isSchedulerError(error)) {
    process.stderr.write(`${error.code}: ${error.message}\n`);
    if (error.suggestion) process.stderr.write(`${error.suggestion}\n`);
    process.exit(1);
  }
  throw error;
}
