import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Document } from 'bson';
import { ErrorCode, MongoCommandError } from '../errors';
import { Journal } from './journal';
import { acquireDataDirLock } from './lock-file';
import { readSnapshot, writeSnapshot } from './snapshot';
import type { StorageEngine } from './storage-engine';
import type { StorageOp, WriteRecorder } from './storage-op';

export type FsyncPolicy = 'always' | 'batch' | 'never';

export interface DurableStoreOptions {
  fsync: FsyncPolicy;
  /**
   * The journal is folded into a new snapshot once it is larger than this and than the snapshot
   * itself, so compaction costs stay proportional to what was written (a 1M-message snapshot is
   * rewritten every few hundred MB of journal, not every 64 MiB).
   */
  compactAfterBytes: number;
  /** Open a journal whose corrupt record intact ones follow by cutting it there (they are lost). */
  truncateCorruptJournal?: boolean;
  warn(message: string): void;
}

/**
 * Makes a StorageEngine durable under `dataDir`: snapshot + journal replay on open, one journal
 * record per command, compaction into a fresh snapshot when the journal grows and on close.
 */
export class DurableStore implements WriteRecorder {
  private pending: StorageOp[] = [];
  /** Changes whose journal write failed; they go first into the next write command's record. */
  private unwritten: StorageOp[] = [];
  // Group commit ('batch'): records are written at once, and one fdatasync covers every record
  // written before it started; a write command is acknowledged only after its record is synced.
  private writtenSeq = 0;
  private syncedSeq = 0;
  private syncing: Promise<void> | undefined;
  private snapshotBytes = 0;
  /** After a failed compaction: the journal size the next attempt waits for. */
  private compactionRetryAt = 0;

  private constructor(
    private readonly dataDir: string,
    private readonly storage: StorageEngine,
    private readonly journal: Journal,
    private readonly releaseLock: () => void,
    private readonly options: DurableStoreOptions,
  ) {}

  static open(dataDir: string, storage: StorageEngine, options: DurableStoreOptions): DurableStore {
    mkdirSync(dataDir, { recursive: true });
    const releaseLock = acquireDataDirLock(dataDir);
    try {
      readSnapshot(join(dataDir, 'snapshot.bson'), storage);
      const { journal, contents } = Journal.open(join(dataDir, 'journal.log'), {
        truncateCorruption: options.truncateCorruptJournal,
      });
      if (contents.discardedBytes > 0) {
        options.warn(
          `embedded-mongo: discarded ${contents.discardedBytes} bytes of a torn journal record in ${dataDir}`,
        );
      }
      // Journal operations are physical and idempotent, so replaying ones a snapshot already holds is harmless.
      for (const operation of contents.operations) storage.apply(operation as StorageOp);
      const store = new DurableStore(dataDir, storage, journal, releaseLock, options);
      store.snapshotBytes = store.snapshotSize();
      storage.attachRecorder(store);
      return store;
    } catch (error) {
      releaseLock();
      throw error;
    }
  }

  record(operation: StorageOp): void {
    this.pending.push(operation);
  }

  commit(): void {
    if (this.pending.length === 0) return;
    const operations = [...this.unwritten, ...this.pending] as unknown as Document[];
    this.pending = [];
    this.unwritten = [];
    let written = 0;
    try {
      if (this.options.fsync === 'always') {
        for (; written < operations.length; written++)
          this.journal.append([operations[written]], true);
      } else {
        this.journal.append(operations, false);
        if (this.options.fsync === 'batch') this.writtenSeq += 1;
      }
    } catch (error) {
      // Applied in memory but not journaled (disk full): the next write's record carries them, so
      // the journal never misses a change that reads have seen.
      this.unwritten = operations.slice(written) as unknown as StorageOp[];
      throw new MongoCommandError(
        ErrorCode.InternalError,
        `journal write failed: ${(error as Error).message}`,
      );
    }
    const threshold = Math.max(this.options.compactAfterBytes, this.snapshotBytes);
    if (this.journal.size > Math.max(threshold, this.compactionRetryAt)) this.compactQuietly();
  }

  /**
   * Compaction after a write the journal holds already: a failure (a full disk) must not fail
   * that write. It is retried once the journal has grown by another threshold.
   */
  private compactQuietly(): void {
    try {
      this.compact();
      this.compactionRetryAt = 0;
    } catch (error) {
      this.compactionRetryAt = this.journal.size + this.options.compactAfterBytes;
      this.options.warn(
        `embedded-mongo: could not fold the journal into a snapshot in ${this.dataDir} (the journal keeps every write): ${(error as Error).message}`,
      );
    }
  }

  /** Resolves once every record written so far is on disk; undefined when nothing is waiting. */
  whenDurable(): Promise<void> | undefined {
    if (this.syncedSeq >= this.writtenSeq) return undefined;
    const target = this.writtenSeq;
    const waitFor = async (): Promise<void> => {
      while (this.syncedSeq < target) {
        if (!this.syncing) this.syncing = this.syncOnce().finally(() => (this.syncing = undefined));
        await this.syncing;
      }
    };
    return waitFor();
  }

  private async syncOnce(): Promise<void> {
    // Let commands that arrived in this same event-loop turn join the batch.
    await new Promise((resolve) => setImmediate(resolve));
    const covered = this.writtenSeq;
    await this.journal.sync();
    this.syncedSeq = Math.max(this.syncedSeq, covered);
  }

  /** Writes everything to a new snapshot, then empties the journal. */
  compact(): void {
    writeSnapshot(join(this.dataDir, 'snapshot.bson'), this.storage);
    this.journal.reset();
    this.syncedSeq = this.writtenSeq; // the synced snapshot holds every written record
    this.snapshotBytes = this.snapshotSize();
  }

  private snapshotSize(): number {
    try {
      return statSync(join(this.dataDir, 'snapshot.bson')).size;
    } catch {
      return 0; // no snapshot yet
    }
  }

  close(): void {
    try {
      this.commit();
      this.compact();
    } finally {
      this.journal.close();
      this.releaseLock();
    }
  }
}
