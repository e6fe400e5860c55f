import { describe, expect, it, vi } from 'vitest';
import { KeyedCoalescingQueue } from './keyed-coalescing-queue';

const tick = () => new Promise((r) => setImmediate(r));

/** A queue that concatenates what each item key got, with its rounds recorded. */
function queueOf({ maxHeld = 100, gate }: { maxHeld?: number; gate?: Promise<void> } = {}) {
  const rounds: Array<[string, Array<[string, string]>]> = [];
  const onFull = vi.fn();
  const queue = new KeyedCoalescingQueue<string, string>({
    fold: (held, item) => (held === undefined ? item : `${held}+${item}`),
    process: async (key, round) => {
      rounds.push([key, [...round]]);
      await gate;
    },
    maxHeld,
    onFull,
  });
  return { queue, rounds, onFull };
}

describe('KeyedCoalescingQueue', () => {
  it('folds a burst per item key into one round, item keys in the order they first came', async () => {
    const { queue, rounds } = queueOf();
    for (const [item, value] of [
      ['m2', 'a'],
      ['m1', 'b'],
      ['m2', 'c'],
    ])
      queue.push('s', item, value);
    queue.push('other', 'm1', 'x');
    await queue.idle();
    expect(rounds).toEqual([
      [
        's',
        [
          ['m2', 'a+c'],
          ['m1', 'b'],
        ],
      ],
      ['other', [['m1', 'x']]],
    ]);
  });

  it('folds what comes while a round runs into the next round', async () => {
    let release!: () => void;
    const { queue, rounds } = queueOf({ gate: new Promise<void>((r) => (release = r)) });
    queue.push('s', 'm1', 'a');
    await tick();
    for (const value of ['b', 'c', 'd']) queue.push('s', 'm1', value);
    expect(queue.heldCount('s')).toBe(1);
    release();
    await queue.settled('s');
    expect(rounds).toEqual([
      ['s', [['m1', 'a']]],
      ['s', [['m1', 'b+c+d']]],
    ]);
  });

  it('refuses items of more item keys than maxHeld, and says so once per round', async () => {
    const { queue, rounds, onFull } = queueOf({ maxHeld: 2 });
    expect(queue.push('s', 'm1', 'a')).toBe(true);
    expect(queue.push('s', 'm2', 'b')).toBe(true);
    expect(queue.push('s', 'm3', 'c')).toBe(false);
    expect(queue.push('s', 'm1', 'd')).toBe(true); // a key held already still folds
    expect(queue.push('s', 'm4', 'e')).toBe(false);
    expect(onFull).toHaveBeenCalledTimes(1);
    expect(onFull).toHaveBeenCalledWith('s');
    await queue.settled('s');
    expect(queue.push('s', 'm3', 'f')).toBe(true); // the next round has room again
    await queue.settled('s');
    expect(rounds.map(([, round]) => round)).toEqual([
      [
        ['m1', 'a+d'],
        ['m2', 'b'],
      ],
      [['m3', 'f']],
    ]);
  });

  it('runs the next round after a round that threw', async () => {
    const seen: string[] = [];
    const queue = new KeyedCoalescingQueue<string, string>({
      fold: (_held, item) => item,
      process: async (_key, round) => {
        seen.push(...round.values());
        if (seen.length === 1) throw new Error('boom');
      },
      maxHeld: 10,
      onFull: () => undefined,
    });
    queue.push('s', 'm1', 'first');
    await tick();
    queue.push('s', 'm1', 'second');
    await queue.idle();
    expect(seen).toEqual(['first', 'second']);
  });
});
