import type { EmbeddedMongoOptions } from '../server';

/** What the host hands the worker: the server's options without the logger (functions do not cross threads). */
export type WorkerServerOptions = Omit<EmbeddedMongoOptions, 'logger'>;

export type HostMessage = { type: 'close' };

export type WorkerMessage =
  | { type: 'ready'; port: number }
  | { type: 'failed'; message: string }
  | { type: 'log'; level: 'log' | 'warn' | 'error'; message: string }
  | { type: 'closed' }
  | { type: 'close-failed'; message: string };
