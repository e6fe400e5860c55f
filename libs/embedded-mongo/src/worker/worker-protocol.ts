import type { EmbeddedMongoOptions } from '../server';

/** What the host hands the worker: the server's options without the logger (functions do not cross threads). */
export type WorkerServerOptions = Omit<EmbeddedMongoOptions, 'logger'>;

export type HostMessage =
  { type: 'close' } | { type: 'memory'; id: number; collectGarbage: boolean };

/** The store thread's own heap and buffers (the process RSS is shared by every thread). */
export interface ThreadMemory {
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

export type WorkerMessage =
  | { type: 'ready'; port: number }
  | { type: 'failed'; message: string }
  | { type: 'log'; level: 'log' | 'warn' | 'error'; message: string }
  | { type: 'memory'; id: number; usage: ThreadMemory }
  | { type: 'closed' }
  | { type: 'close-failed'; message: string };
