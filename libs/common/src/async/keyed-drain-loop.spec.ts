import { describe, expect, it } from 'vitest';
import { KeyedDrainLoop } from './keyed-drain-loop';

/** A loop over per-key lists: each take is everything the key had waiting. */
function loopOf(run: (key: string, work: string[]) => Promise<void>) {
  const waiting = new Map<string, string[]>();
  const loop = new KeyedDrainLoop<string[]>((key) => {
    const work = waiting.get(key);
    waiting.delete(key);
    return work;
  }, run);
  const add = (key: string, item: string) => {
    waiting.set(key, [...(waiting.get(key) ?? []), item]);
    loop.start(key);
  };
  return { loop, add };
}

describe('KeyedDrainLoop', () => {
  it('takes a synchronous burst at once, and what comes while it runs next, in order', async () => {
    const runs: Array<[string, string[]]> = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const { loop, add } = loopOf(async (key, work) => {
      runs.push([key, work]);
      if (runs.length === 1) await held;
    });
    add('s', 'a');
    add('s', 'b');
    add('t', 'x');
    await new Promise((resolve) => setImmediate(resolve));
    add('s', 'c');
    release();
    await loop.idle();
    expect(runs).toEqual([
      ['s', ['a', 'b']],
      ['t', ['x']],
      ['s', ['c']],
    ]);
  });

  it('starts a new loop for work added right after the last take found nothing', async () => {
    const runs: string[][] = [];
    const { loop, add } = loopOf(async (_key, work) => {
      runs.push(work);
    });
    add('s', 'a');
    await loop.settled('s');
    add('s', 'b');
    await loop.settled('s');
    expect(runs).toEqual([['a'], ['b']]);
  });

  it('goes on after a run that threw', async () => {
    const runs: string[][] = [];
    const { loop, add } = loopOf(async (_key, work) => {
      runs.push(work);
      if (runs.length === 1) throw new Error('database away');
    });
    add('s', 'a');
    await Promise.resolve();
    await Promise.resolve();
    add('s', 'b');
    await loop.idle();
    expect(runs).toEqual([['a'], ['b']]);
  });
});
