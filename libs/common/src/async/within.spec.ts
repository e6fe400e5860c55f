import { within } from './within';

describe('within', () => {
  afterEach(() => vi.useRealTimers());

  it("answers the promise's outcome when it settles in time, and clears the timer", async () => {
    vi.useFakeTimers();
    await expect(within(Promise.resolve('done'), 1_000, () => 'late')).resolves.toBe('done');
    await expect(within(Promise.reject(new Error('refused')), 1_000, () => 'late')).rejects.toThrow(
      'refused',
    );
    expect(vi.getTimerCount()).toBe(0);
  });

  it("answers late()'s value, or its throw, once the time is up", async () => {
    vi.useFakeTimers();
    const never = new Promise<string>(() => undefined);
    const fallback = within(never, 1_000, () => false);
    const refused = within(never, 1_000, () => {
      throw new Error('timed out after 1000 ms');
    });
    const refusal = expect(refused).rejects.toThrow('timed out after 1000 ms');
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(fallback).resolves.toBe(false);
    await refusal;
  });
});
