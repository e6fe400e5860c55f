import { extname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { EmbeddedMongoLogger, EmbeddedMongoOptions } from '../server';
import type {
  HostMessage,
  ThreadMemory,
  WorkerMessage,
  WorkerServerOptions,
} from './worker-protocol';

export interface EmbeddedMongoThreadOptions extends EmbeddedMongoOptions {
  /** The thread ended without `close()` (a crash): the database is gone for this process. */
  onUnexpectedExit?: (reason: string) => void;
}

const CLOSE_TIMEOUT_MS = 30_000;

/**
 * The worker's script: the compiled sibling, or (running from the TypeScript sources, as the tests
 * do) the compiled copy that EMBEDDED_MONGO_WORKER_ENTRY names; worker threads cannot load .ts.
 */
function workerEntry(): string {
  const override = process.env.EMBEDDED_MONGO_WORKER_ENTRY;
  if (override) return override;
  if (extname(__filename) === '.js') return join(__dirname, 'worker-entry.js');
  throw new Error(
    'embedded-mongo: running from TypeScript sources, the store thread needs a compiled entry: ' +
      'build the project or set EMBEDDED_MONGO_WORKER_ENTRY',
  );
}

/** As the server's own default: quiet, but warnings and errors reach the console. */
const defaultLogger: EmbeddedMongoLogger = {
  log: () => undefined,
  warn: (msg) => console.warn(msg),
  error: (msg) => console.error(msg),
};

/**
 * The embedded server on its own thread: the same server and wire protocol, so the application's
 * event loop does none of the store's work (queries, index upkeep, BSON, journal, snapshot
 * compaction) and the store gets a core of its own. Clients connect over TCP as before.
 */
export class EmbeddedMongoThread {
  private closing?: Promise<void>;
  private requests = 0;

  private constructor(
    readonly port: number,
    private readonly worker: Worker,
    private readonly messages: (handler: (message: WorkerMessage) => void) => () => void,
    /** Settles when the thread has ended, for whatever reason. */
    private readonly exited: Promise<void>,
  ) {}

  static async start(options: EmbeddedMongoThreadOptions = {}): Promise<EmbeddedMongoThread> {
    const { logger = defaultLogger, onUnexpectedExit, ...serverOptions } = options;
    const worker = new Worker(workerEntry(), {
      workerData: { options: serverOptions satisfies WorkerServerOptions },
    });
    const handlers = new Set<(message: WorkerMessage) => void>();
    const subscribe = (handler: (message: WorkerMessage) => void) => {
      handlers.add(handler);
      return () => handlers.delete(handler);
    };
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'log') logger[message.level](message.message);
      for (const handler of handlers) handler(message);
    });
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    return new Promise((resolve, reject) => {
      let thread: EmbeddedMongoThread | undefined;
      const unsubscribe = subscribe((message) => {
        if (message.type === 'ready') {
          unsubscribe();
          thread = new EmbeddedMongoThread(message.port, worker, subscribe, exited);
          resolve(thread);
        } else if (message.type === 'failed') {
          unsubscribe();
          reject(new Error(message.message));
        }
      });
      let lastError: Error | undefined;
      worker.on('error', (error) => {
        lastError = error;
        logger.error(`embedded-mongo: the store's thread failed: ${error.stack ?? error.message}`);
      });
      worker.on('exit', (code) => {
        const reason = lastError?.message ?? `exit code ${code}`;
        if (!thread)
          reject(new Error(`embedded-mongo: the store's thread ended at start (${reason})`));
        else if (!thread.closing) onUnexpectedExit?.(reason);
      });
    });
  }

  uri(dbName = 'test'): string {
    return `mongodb://127.0.0.1:${this.port}/${dbName}?directConnection=true`;
  }

  /** The store thread's heap and buffers; `collectGarbage` (with --expose-gc) measures live memory. */
  memoryUsage(options: { collectGarbage?: boolean } = {}): Promise<ThreadMemory> {
    const id = ++this.requests;
    return new Promise((resolve, reject) => {
      const unsubscribe = this.messages((message) => {
        if (message.type !== 'memory' || message.id !== id) return;
        unsubscribe();
        resolve(message.usage);
      });
      void this.exited.then(() => reject(new Error('embedded-mongo: the store thread has ended')));
      this.worker.postMessage({
        type: 'memory',
        id,
        collectGarbage: options.collectGarbage ?? false,
      } satisfies HostMessage);
    });
  }

  /** Stops listening, flushes the journal into a snapshot and releases the lock, then ends the thread. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const closed = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('embedded-mongo: the store did not close in time')),
        CLOSE_TIMEOUT_MS,
      );
      const unsubscribe = this.messages((message) => {
        if (message.type !== 'closed' && message.type !== 'close-failed') return;
        clearTimeout(timer);
        unsubscribe();
        if (message.type === 'closed') resolve();
        else reject(new Error(message.message));
      });
      void this.exited.then(() => {
        clearTimeout(timer);
        reject(new Error('embedded-mongo: the store thread ended before it closed'));
      });
    });
    this.worker.postMessage({ type: 'close' } satisfies HostMessage);
    try {
      await closed;
    } finally {
      await this.worker.terminate();
      await this.exited;
    }
  }
}
