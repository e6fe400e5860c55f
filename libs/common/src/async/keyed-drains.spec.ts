import { KeyedDrains } from './keyed-drains';

describe('KeyedDrains', () => {
  it('runs one drain per key, and once more for kicks that came during it', async () => {
    const runs: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const drains = new KeyedDrains(async (key) => {
      runs.push(key);
      if (runs.length === 1) await gate;
    }, vi.fn());
    drains.kick('a');
    drains.kick('a');
    drains.kick('a'); // folded into one more run
    drains.kick('b'); // other keys are independent
    expect(runs).toEqual(['a', 'b']);
    release();
    await drains.idle('a');
    await new Promise((r) => setImmediate(r));
    await drains.settled();
    expect(runs).toEqual(['a', 'b', 'a']);
  });

  it('reports a failed drain and keeps serving the key', async () => {
    const onError = vi.fn();
    let fail = true;
    const drains = new KeyedDrains(async () => {
      if (fail) throw new Error('boom');
    }, onError);
    drains.kick('a');
    await drains.settled();
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'boom' }), 'a');
    fail = false;
    drains.kick('a');
    await drains.settled();
    expect(onError).toHaveBeenCalledTimes(1);
  });

  it('stop lets the drain under way finish and starts nothing after it', async () => {
    const runs: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const sweep = vi.fn(async () => undefined);
    const drains = new KeyedDrains(async (key) => {
      runs.push(key);
      await gate;
    }, vi.fn());
    drains.sweepEvery(5, sweep);
    drains.kick('a');
    drains.kick('a'); // would run again, but the drains stop first
    const stopped = drains.stop();
    expect(drains.stopped).toBe(true);
    release();
    await stopped;
    drains.kick('b');
    await new Promise((r) => setTimeout(r, 20));
    expect(runs).toEqual(['a']);
    expect(sweep).not.toHaveBeenCalled();
  });

  it('kicks a key after a delay, and not at all once stopped', async () => {
    vi.useFakeTimers();
    try {
      const runs: string[] = [];
      const drains = new KeyedDrains(async (key) => void runs.push(key), vi.fn());
      drains.kickAfter('a', 300);
      drains.kickAfter('b', 900);
      await vi.advanceTimersByTimeAsync(299);
      expect(runs).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect(runs).toEqual(['a']);
      await drains.stop();
      await vi.advanceTimersByTimeAsync(1_000);
      expect(runs).toEqual(['a']);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('kicks no earlier than Date.now() says, when the timer fires early', async () => {
    vi.useFakeTimers();
    try {
      const runs: string[] = [];
      const drains = new KeyedDrains(async (key) => void runs.push(key), vi.fn());
      drains.kickAfter('a', 300);
      // The wall clock falls 50 ms behind the timers (as a busy event loop's cached clock does).
      vi.setSystemTime(Date.now() - 50);
      await vi.advanceTimersByTimeAsync(300);
      expect(runs).toEqual([]);
      await vi.advanceTimersByTimeAsync(50);
      expect(runs).toEqual(['a']);
      await drains.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});
