import type { Document } from 'bson';
import { runCommand } from './commands/dispatcher';
import { OpCounters } from './commands/op-counters';
import { CursorRegistry } from './cursors/cursor-registry';
import { DurableStore, type FsyncPolicy } from './storage/durable-store';
import { StorageEngine } from './storage/storage-engine';
import { removeExpiredDocuments } from './storage/ttl-monitor';
import { WireServer } from './wire/wire-server';
import type { WireConnection } from './wire/connection';

export interface EmbeddedMongoLogger {
  log(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export interface EmbeddedMongoOptions {
  /** 0 or undefined = random free port. */
  port?: number;
  /** undefined = memory only (no durability); else journal + snapshots + lock file under it. */
  dataDir?: string;
  /** Default 'batch': one fsync per write command. */
  fsync?: FsyncPolicy;
  logger?: EmbeddedMongoLogger;
  /** How often expired TTL documents are deleted (default 10 s); tests shorten it. */
  ttlMonitorIntervalMs?: number;
  /** Journal size that triggers folding it into a snapshot (default 64 MiB). */
  compactJournalAfterBytes?: number;
  /**
   * A journal with a corrupt record that intact records follow refuses to open (a torn last
   * record is cut off either way). Set this once to cut it at the corruption instead, losing the
   * records after it.
   */
  truncateCorruptJournal?: boolean;
}

const DEFAULT_TTL_INTERVAL_MS = 10_000;
const DEFAULT_COMPACT_BYTES = 64 * 1024 * 1024;
const CURSOR_REAPER_INTERVAL_MS = 60_000;

const defaultLogger: EmbeddedMongoLogger = {
  log: () => undefined,
  warn: (msg) => console.warn(msg),
  error: (msg) => console.error(msg),
};

/** The write is applied in memory but not known to be on disk: the client must not count on it. */
function fsyncFailedReply(error: Error): Document {
  return {
    ok: 0,
    code: 1,
    codeName: 'InternalError',
    errmsg: `journal fsync failed: ${error.message}`,
  };
}

function skipsJournalWait(command: Document): boolean {
  const concern = command.writeConcern as Document | undefined;
  return concern?.j === false;
}

/** An in-process server speaking the MongoDB wire protocol on 127.0.0.1. */
export class EmbeddedMongoServer {
  private readonly timers: NodeJS.Timeout[] = [];
  private closing: Promise<void> | undefined;

  private constructor(
    readonly port: number,
    private readonly wire: WireServer,
    private readonly storage: StorageEngine,
    private readonly cursors: CursorRegistry,
    private readonly durable: DurableStore | undefined,
    private readonly logger: EmbeddedMongoLogger,
    ttlIntervalMs: number,
  ) {
    this.every(ttlIntervalMs, () => removeExpiredDocuments(this.storage));
    this.every(CURSOR_REAPER_INTERVAL_MS, () => this.cursors.reapIdle());
  }

  static async start(options: EmbeddedMongoOptions = {}): Promise<EmbeddedMongoServer> {
    const logger = options.logger ?? defaultLogger;
    const storage = new StorageEngine();
    const durable = options.dataDir
      ? DurableStore.open(options.dataDir, storage, {
          fsync: options.fsync ?? 'batch',
          compactAfterBytes: options.compactJournalAfterBytes ?? DEFAULT_COMPACT_BYTES,
          truncateCorruptJournal: options.truncateCorruptJournal,
          warn: (msg) => logger.warn(msg),
        })
      : undefined;
    const cursors = new CursorRegistry();
    const startedAt = Date.now();
    const opcounters = new OpCounters();
    let port = 0;
    const run = (command: Document, db: string, connection: WireConnection) => {
      const reply = runCommand(command, {
        db,
        storage,
        cursors,
        connectionId: connection.id,
        clientAddress: connection.clientAddress,
        serverPort: port,
        startedAt,
        opcounters,
      });
      // `writeConcern: { j: false }` acknowledges without waiting for the journal sync, as MongoDB
      // does; records stay in order, so the next acknowledged write's sync covers this one too.
      const durableWrite = skipsJournalWait(command) ? undefined : durable?.whenDurable();
      return durableWrite
        ? durableWrite.then(
            () => reply,
            (error: Error) => fsyncFailedReply(error),
          )
        : reply;
    };
    const wire = new WireServer(run, (error) =>
      logger.warn(`embedded-mongo: closing connection after protocol error: ${error.message}`),
    );
    try {
      port = await wire.listen(options.port ?? 0);
    } catch (error) {
      durable?.close();
      throw error;
    }
    return new EmbeddedMongoServer(
      port,
      wire,
      storage,
      cursors,
      durable,
      logger,
      options.ttlMonitorIntervalMs ?? DEFAULT_TTL_INTERVAL_MS,
    );
  }

  uri(dbName = 'test'): string {
    return `mongodb://127.0.0.1:${this.port}/${dbName}?directConnection=true`;
  }

  /** Stops listening, destroys client sockets, then flushes the journal into a snapshot and releases the lock. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    await this.wire.close();
    this.cursors.clear();
    try {
      this.durable?.close();
    } catch (error) {
      this.logger.error(
        `embedded-mongo: failed to flush data on close: ${(error as Error).message}`,
      );
      throw error;
    }
  }

  private every(intervalMs: number, task: () => void): void {
    const timer = setInterval(() => {
      try {
        task();
      } catch (error) {
        this.logger.error(`embedded-mongo: background task failed: ${(error as Error).message}`);
      }
    }, intervalMs);
    timer.unref();
    this.timers.push(timer);
  }
}
