export { type CliIo, runCli } from './cli.js';
export { EXIT_CODES, type ExitCode, exitCodeOf } from './exit-codes.js';
