import { parentPort, workerData } from 'node:worker_threads';
import { EmbeddedMongoServer } from '../server';
import type { HostMessage, WorkerMessage, WorkerServerOptions } from './worker-protocol';

/** Runs inside the worker thread: the server, with its logs and lifecycle reported to the host. */
async function main(): Promise<void> {
  const port = parentPort!;
  const send = (message: WorkerMessage) => port.postMessage(message);
  const options = (workerData as { options: WorkerServerOptions }).options;
  let server: EmbeddedMongoServer;
  try {
    server = await EmbeddedMongoServer.start({
      ...options,
      logger: {
        log: (message) => send({ type: 'log', level: 'log', message }),
        warn: (message) => send({ type: 'log', level: 'warn', message }),
        error: (message) => send({ type: 'log', level: 'error', message }),
      },
    });
  } catch (error) {
    send({ type: 'failed', message: (error as Error).message });
    return;
  }
  port.on('message', (message: HostMessage) => {
    if (message.type !== 'close') return;
    server.close().then(
      () => {
        send({ type: 'closed' });
        port.close(); // nothing else keeps the thread alive: it exits
      },
      (error: Error) => send({ type: 'close-failed', message: error.message }),
    );
  });
  send({ type: 'ready', port: server.port });
}

void main();
