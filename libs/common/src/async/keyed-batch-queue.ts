import { KeyedDrainLoop } from './keyed-drain-loop';
import { SettledTails } from './settled-tails';

interface Pending<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

export interface KeyedBatchQueueOptions<T, R> {
  /** Largest batch handed to `process`. */
  maxBatch: number;
  /** Handles one key's batch; returns one result per item, in order. A throw rejects the whole batch. */
  process: (key: string, items: T[]) => Promise<R[]>;
  /** Runs after a batch's callers were resolved and before the key's next batch starts; must not throw. */
  afterBatch?: (key: string, items: T[], results: R[]) => Promise<void>;
}

/**
 * Group commit per key: what is pushed while a key's batch is being processed becomes its next
 * batch (up to `maxBatch`). One batch per key at a time, so a key's items are processed in push
 * order; under light load a batch is a single item (no added latency), under a burst batches grow.
 */
export class KeyedBatchQueue<T, R = void> {
  private readonly queues = new Map<string, Pending<T, R>[]>();
  private readonly batches = new KeyedDrainLoop<Pending<T, R>[]>(
    (key) => this.nextBatch(key),
    (key, batch) => this.processBatch(key, batch),
  );
  /** Per key, the item pushed last: once it settled, every earlier one had. */
  private readonly lastPushed = new SettledTails();

  constructor(private readonly options: KeyedBatchQueueOptions<T, R>) {}

  /** Resolves with the item's result once its batch was processed. Call order is processing order. */
  push(key: string, item: T): Promise<R> {
    const result = new Promise<R>((resolve, reject) => {
      const queue = this.queues.get(key) ?? [];
      queue.push({ item, resolve, reject });
      this.queues.set(key, queue);
      this.batches.start(key);
    });
    this.lastPushed.track(key, result);
    return result;
  }

  /** Resolves once every item of `key` pushed so far was processed (not waiting for later ones). */
  async settled(key: string): Promise<void> {
    await this.lastPushed.last(key);
  }

  /** Resolves when every batch queued so far has been processed. */
  async idle(): Promise<void> {
    await this.batches.idle();
  }

  private nextBatch(key: string): Pending<T, R>[] | undefined {
    const queue = this.queues.get(key);
    if (queue?.length) return queue.splice(0, this.options.maxBatch);
    this.queues.delete(key);
    return undefined;
  }

  private async processBatch(key: string, batch: Pending<T, R>[]): Promise<void> {
    const items = batch.map((p) => p.item);
    let results: R[];
    try {
      results = await this.options.process(key, items);
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    batch.forEach((p, i) => p.resolve(results[i]));
    // A throwing hook must not stall the key's queue.
    if (this.options.afterBatch)
      await this.options.afterBatch(key, items, results).catch(() => undefined);
  }
}
