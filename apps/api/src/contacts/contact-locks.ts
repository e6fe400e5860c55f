import { Injectable } from '@nestjs/common';

/**
 * Runs tasks one after another per key (a session id). Contact writes of one session —
 * sync batches, LID merges and user edits — never interleave inside this process, so a merge
 * never reads a document a concurrent write is changing. The unique index stays the hard guarantee.
 */
@Injectable()
export class ContactLocks {
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
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
