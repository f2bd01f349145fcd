import { createServer, type Server, type Socket } from 'node:net';
import { isSchedulerError } from '@s3-scheduler/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../connect.js';
import { S3Store } from './s3-store.js';

/** A TCP server that accepts connections and never answers: a hung endpoint or a frozen server. */
let server: Server;
const sockets = new Set<Socket>();
let endpoint: string;

beforeAll(async () => {
  server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  endpoint = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const credentials = { accessKeyId: 'silent', secretAccessKey: 'silent-secret' };

async function failure(promise: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  try {
    await promise;
  } catch (error) {
    return { error, ms: performance.now() - started };
  }
  throw new Error('expected a rejection');
}

describe('deadlines against a server that accepts connections and never answers', () => {
  it('every S3Store request fails STORE_UNAVAILABLE (retriable) past requestTimeoutMs', async () => {
    const store = new S3Store({ bucket: 'b', endpoint, credentials, requestTimeoutMs: 300, maxAttempts: 1 });
    try {
      const requests = [
        store.get('k'),
        store.head('k'),
        store.put('k', 'v'),
        store.put('k', 'v', { ifNoneMatch: '*' }),
        store.delete('k'),
        store.list(''),
      ];
      for (const request of requests) {
        const { error } = await failure(request);
        expect(isSchedulerError(error) && error.code).toBe('STORE_UNAVAILABLE');
        expect(isSchedulerError(error) && error.retriable).toBe(true);
        expect(String((error as Error).message)).toContain('requestTimeoutMs');
        expect(JSON.stringify(error)).not.toContain('silent-secret');
      }
    } finally {
      await store.close();
    }
  }, 60_000);

  it("the caller's own signal still wins with its own reason", async () => {
    const store = new S3Store({ bucket: 'b', endpoint, credentials, requestTimeoutMs: 60_000 });
    try {
      const controller = new AbortController();
      const request = store.get('k', { signal: controller.signal });
      setTimeout(() => controller.abort(new Error('caller gave up')), 50);
      const { error } = await failure(request);
      expect((error as Error).message).toBe('caller gave up');
    } finally {
      await store.close();
    }
  }, 60_000);

  it('connect() (what start() does) fails STORE_UNAVAILABLE within its timeoutMs', async () => {
    const url = `s3://silent:silent-secret@silent-bucket/p?endpoint=${encodeURIComponent(endpoint)}`;
    const { error, ms } = await failure(connect(url, { requestTimeoutMs: 200, timeoutMs: 1000 }));
    expect(isSchedulerError(error) && error.code).toBe('STORE_UNAVAILABLE');
    expect(String((error as Error).message)).toContain('timeoutMs (1000 ms)');
    expect(JSON.stringify(error)).not.toContain('silent-secret');
    // The deadline fires on time; the bound only guards against hanging (far above the 1 s).
    expect(ms).toBeLessThan(20_000);
  }, 60_000);
});
