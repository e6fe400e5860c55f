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
    if (message.type === 'memory') return send(memory(message.id, message.collectGarbage));
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

/** Garbage is collected first when asked and the process runs with --expose-gc (benchmarks). */
function memory(id: number, collectGarbage: boolean): WorkerMessage {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (collectGarbage) for (let i = 0; i < 3; i++) gc?.();
  const { heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  return { type: 'memory', id, usage: { heapUsed, heapTotal, external, arrayBuffers } };
}

void main();
