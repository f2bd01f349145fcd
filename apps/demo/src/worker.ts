/**
 * One scheduler instance in its own process, forked by the multi-process demo. It reads its
 * settings from the DEMO_WORKER environment variable (not argv, which other users can read:
 * it holds the store's connection string), reports to the parent over IPC, and obeys it.
 */
import { systemClock } from '@s3-scheduler/core';
import { connect, PrefixedStore } from '@s3-scheduler/storage';
import { DemoInstance } from './instance.js';
import type { ParentMessage, WorkerMessage, WorkerSettings } from './protocol.js';

const settings = JSON.parse(process.env.DEMO_WORKER ?? '{}') as WorkerSettings;
delete process.env.DEMO_WORKER;

function send(message: WorkerMessage): void {
  if (process.connected) process.send?.(message);
}

const base = await connect(settings.store, { clock: systemClock });
const root = new PrefixedStore(base, settings.runPrefix);
const instance = new DemoInstance({
  id: settings.id,
  store: root,
  clock: systemClock,
  heartbeatMs: settings.heartbeatMs,
  coldStartMs: settings.coldStartMs,
  markers: root,
  extraJobs: settings.extraJobs,
  onEvent: (event) => send({ type: 'event', event }),
});
instance.plugin.on('plg:scheduler:coordinator-promoted', ({ workerId, epoch, timestamp }) =>
  send({ type: 'promoted', promotion: { workerId, epoch, at: timestamp } }),
);
instance.plugin.on('plg:scheduler:job-skipped', ({ jobName, slot, reason, count, workerId }) => {
  if (reason === 'missed')
    send({ type: 'missed', report: { job: jobName, slot, count: count ?? 1, workerId } });
});
await instance.plugin.start();
send({ type: 'ready' });
const reporter = setInterval(() => send({ type: 'report', report: instance.report(undefined) }), 200);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await instance.plugin.stop();
  clearInterval(reporter);
  send({ type: 'report', report: instance.report(undefined) });
  send({ type: 'stopped' });
  // Open sockets of the S3 client would keep the process alive for their idle timeout.
  setTimeout(() => process.exit(0), 100);
}

process.on('message', (message: ParentMessage) => {
  switch (message.type) {
    case 'add-job':
      void instance.addJob(message.name).catch((error: Error) =>
        send({
          type: 'event',
          event: { at: Date.now(), kind: 'error', text: `${settings.id}: ${error.message}` },
        }),
      );
      break;
    case 'trigger':
      void instance.plugin.runJob(message.name).catch((error: Error) =>
        send({
          type: 'event',
          event: {
            at: Date.now(),
            kind: 'error',
            text: `trigger ${message.name} on ${settings.id}: ${error.message}`,
          },
        }),
      );
      break;
    case 'stop':
      void stop();
      break;
  }
});
// The parent went away (Ctrl+C in a terminal): leave gracefully rather than linger.
process.on('disconnect', () => void stop());
process.on('SIGINT', () => undefined);
