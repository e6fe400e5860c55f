import { backoffDelay } from './backoff';

const policy = { baseMs: 1_000, capMs: 60_000 };

describe('backoffDelay', () => {
  it('doubles from base and caps', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4, 5, 6, 7, 8, 20].map((n) => backoffDelay(n, policy, mid))).toEqual([
      1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000,
    ]);
  });

  it('keeps jitter within ±20 % and never above the cap', () => {
    expect(backoffDelay(3, policy, () => 0)).toBe(3200);
    expect(backoffDelay(3, policy, () => 0.999999)).toBe(4800);
    expect(backoffDelay(10, policy, () => 0.999999)).toBe(60_000);
    expect(backoffDelay(10, policy, () => 0)).toBe(48_000);
    expect(backoffDelay(1_000, policy, () => 1)).toBe(60_000);
  });

  it('keeps delays strictly increasing whatever the jitter, until they reach the cap', () => {
    // Attempt n+1 unjittered (base·2^n) still below the cap: its least beats attempt n's most.
    for (let attempt = 1; policy.baseMs * 2 ** attempt < policy.capMs; attempt++)
      expect(backoffDelay(attempt + 1, policy, () => 0)).toBeGreaterThan(
        backoffDelay(attempt, policy, () => 0.999999),
      );
  });
});
