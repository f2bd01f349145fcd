import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SchedulerError } from '@s3-scheduler/core';
import { createDashboardHandler, type DashboardOptions } from './handler.js';

/** Options of `runDashboardCommand`: the handler's plus where to listen. */
export interface DashboardCommandOptions extends DashboardOptions {
  /** TCP port; 0 picks a free one. Default 4300. */
  port?: number;
  /** Interface to listen on. Default `127.0.0.1` (this machine only). */
  host?: string;
}

export interface RunningDashboard {
  /** Where the page is, e.g. `http://127.0.0.1:4300/`. */
  url: string;
  server: Server;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/**
 * `s3-scheduler dashboard --port N`: serves the dashboard on its own `node:http` server and
 * resolves once it listens. Throws `SchedulerError` `INVALID_OPTION` for a bad port or handler
 * option; rejects with the server's error (e.g. `EADDRINUSE`) when it cannot listen.
 */
export async function runDashboardCommand(options: DashboardCommandOptions): Promise<RunningDashboard> {
  const { port = 4300, host = '127.0.0.1', ...handlerOptions } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SchedulerError(`Dashboard port must be an integer from 0 to 65535`, {
      code: 'INVALID_OPTION',
      operation: 'dashboard',
      metadata: { option: 'port', value: port },
      suggestion: 'Pass --port 4300, or 0 for any free port.',
    });
  }
  const handler = createDashboardHandler(handlerOptions);
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const base = (handlerOptions.basePath ?? '').replace(/\/+$/, '');
  return {
    url: `http://${shownHost}:${address.port}${base}/`,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
