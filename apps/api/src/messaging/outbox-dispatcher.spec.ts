import { retryDelayMs } from './outbox-dispatcher';

describe('retryDelayMs', () => {
  it('doubles per attempt with ±20 % jitter and caps at one minute', () => {
    expect(retryDelayMs(2000, 1, () => 0.5)).toBe(2000);
    expect(retryDelayMs(2000, 2, () => 0.5)).toBe(4000);
    expect(retryDelayMs(2000, 3, () => 0)).toBeCloseTo(8000 * 0.8);
    expect(retryDelayMs(2000, 3, () => 1)).toBeCloseTo(8000 * 1.2);
    expect(retryDelayMs(2000, 20, () => 0.5)).toBe(60_000);
  });
});
