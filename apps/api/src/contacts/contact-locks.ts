import { Injectable } from '@nestjs/common';
import { SettledTails } from '@app/common';

/**
 * Runs tasks one after another per key (a session id). Contact writes of one session —
 * sync batches, LID merges and user edits — never interleave inside this process, so a merge
 * never reads a document a concurrent write is changing. The unique index stays the hard guarantee.
 */
@Injectable()
export class ContactLocks {
  private readonly tails = new SettledTails();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const result = (this.tails.last(key) ?? Promise.resolve()).then(task);
    this.tails.track(key, result);
    return result;
  }

  /** Keys with queued or running work (for tests and diagnostics). */
  get size(): number {
    return this.tails.size;
  }
}

/** A bounded set of recently seen keys (oldest evicted first). */
export class RecentKeys {
  private readonly keys = new Set<string>();

  constructor(private readonly capacity: number) {}

  /** true if `key` was already seen; records it otherwise. */
  seen(key: string): boolean {
    if (this.keys.has(key)) return true;
    this.keys.add(key);
    if (this.keys.size > this.capacity) this.keys.delete(this.keys.values().next().value as string);
    return false;
  }
}
