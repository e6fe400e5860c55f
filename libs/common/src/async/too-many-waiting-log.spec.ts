import { describe, expect, it, vi } from 'vitest';
import { KeyedCoalescingQueue } from './keyed-coalescing-queue';
import { logTooManyWaiting } from './too-many-waiting-log';

describe('logTooManyWaiting', () => {
  it('logs one error per session and round, with the session, the limit and what is dropped', async () => {
    const log = { error: vi.fn() };
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const queue = new KeyedCoalescingQueue<number, number>({
      fold: (_, item) => item,
      process: () => held,
      maxHeld: 1,
      onFull: logTooManyWaiting(log, {
        limit: 1,
        waiting: 'contacts',
        dropped: 'further contacts',
      }),
    });
    queue.push('org_s1', 'a', 1);
    await Promise.resolve(); // the first round starts, held by the database
    queue.push('org_s1', 'b', 2);
    expect(queue.push('org_s1', 'c', 3)).toBe(false);
    expect(queue.push('org_s1', 'd', 4)).toBe(false);
    expect(log.error.mock.calls).toEqual([
      [
        { sessionId: 'org_s1', limit: 1 },
        'Too many contacts waiting for the database: further contacts are dropped until those are written',
      ],
    ]);
    release();
    await queue.idle();
  });
});
