import { describe, expect, it } from 'vitest';
import { KeyedBatchQueue } from './keyed-batch-queue';

const tick = () => new Promise((r) => setImmediate(r));

describe('KeyedBatchQueue', () => {
  it('groups a synchronous burst into batches of at most maxBatch, in push order', async () => {
    const batches: number[][] = [];
    const queue = new KeyedBatchQueue<number, number>({
      maxBatch: 3,
      process: async (_key, items) => {
        batches.push(items);
        return items.map((n) => n * 10);
      },
    });
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => queue.push('a', n)));
    expect(results).toEqual([10, 20, 30, 40, 50]);
    expect(batches).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
  });

  it('collects what arrives while a batch is in flight into the next batch', async () => {
    const batches: string[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const queue = new KeyedBatchQueue<string>({
      maxBatch: 100,
      process: async (_key, items) => {
        batches.push(items);
        if (batches.length === 1) await gate;
        return items.map(() => undefined);
      },
    });
    const first = queue.push('k', 'first');
    await tick();
    const later = ['b', 'c'].map((x) => queue.push('k', x));
    release();
    await Promise.all([first, ...later]);
    expect(batches).toEqual([['first'], ['b', 'c']]);
  });

  it('starts a new batch for an item pushed right after the previous batch resolved', async () => {
    const queue = new KeyedBatchQueue<number, number>({
      maxBatch: 10,
      process: async (_key, items) => items,
    });
    // The caller continues in the microtask right after its resolve: the drain must be over by then.
    await queue.push('k', 1);
    await expect(queue.push('k', 2)).resolves.toBe(2);
  });

  it('runs keys independently and rejects only the failed batch', async () => {
    const queue = new KeyedBatchQueue<string, string>({
      maxBatch: 10,
      process: async (key, items) => {
        if (key === 'bad') throw new Error('boom');
        return items.map((i) => `${key}:${i}`);
      },
    });
    const bad = queue.push('bad', 'x');
    const good = queue.push('good', 'y');
    await expect(bad).rejects.toThrow('boom');
    await expect(good).resolves.toBe('good:y');
    // The failed key keeps working for later items.
    await expect(queue.push('good', 'z')).resolves.toBe('good:z');
  });

  it('calls afterBatch before the next batch, survives it throwing, and idle() waits for all', async () => {
    const log: string[] = [];
    const queue = new KeyedBatchQueue<number>({
      maxBatch: 1,
      process: async (_key, items) => {
        log.push(`process ${items[0]}`);
        return [undefined];
      },
      afterBatch: async (_key, items) => {
        log.push(`after ${items[0]}`);
        if (items[0] === 1) throw new Error('hook failed');
      },
    });
    void queue.push('k', 1);
    void queue.push('k', 2);
    await queue.idle();
    expect(log).toEqual(['process 1', 'after 1', 'process 2', 'after 2']);
  });

  it('settled(key) waits for what the key had queued, not for later items or other keys', async () => {
    const gates = new Map<string, () => void>();
    const done: string[] = [];
    const queue = new KeyedBatchQueue<string>({
      maxBatch: 1,
      process: async (_key, [item]) => {
        await new Promise<void>((r) => gates.set(item, r));
        done.push(item);
        return [undefined];
      },
    });
    void queue.push('k', 'a1');
    void queue.push('k', 'a2');
    void queue.push('other', 'b1');
    let settled = false;
    const waiting = queue.settled('k').then(() => (settled = true));
    void queue.push('k', 'a3'); // after the call: not waited for
    await tick();
    gates.get('a1')!();
    await tick();
    expect(settled).toBe(false);
    gates.get('a2')!();
    await waiting;
    expect(done).toEqual(['a1', 'a2']);
    await queue.settled('nothing-queued'); // resolves at once
    gates.get('a3')!();
    gates.get('b1')!();
    await queue.idle();
  });
});
