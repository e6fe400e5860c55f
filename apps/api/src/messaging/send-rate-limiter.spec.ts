import { SendRateLimiter } from './send-rate-limiter';

describe('SendRateLimiter', () => {
  it('never waits when unlimited (0)', () => {
    const limiter = new SendRateLimiter(0);
    limiter.recordSend('s', 1000);
    expect(limiter.delayFor('s', 1000)).toBe(0);
  });

  it('spaces sends of one session by 60 s / rate with ±20 % jitter', () => {
    const low = new SendRateLimiter(20, () => 0);
    low.recordSend('s', 0);
    expect(low.delayFor('s', 0)).toBe(2400); // 3000 ms × 0.8
    const high = new SendRateLimiter(20, () => 0.999999);
    high.recordSend('s', 0);
    expect(high.delayFor('s', 0)).toBeCloseTo(3600, 0); // 3000 ms × 1.2
    expect(high.delayFor('s', 5000)).toBe(0);
  });

  it('keeps sessions independent', () => {
    const limiter = new SendRateLimiter(60, () => 0.5);
    limiter.recordSend('a', 0);
    expect(limiter.delayFor('a', 0)).toBe(1000);
    expect(limiter.delayFor('b', 0)).toBe(0);
    limiter.forget('a');
    expect(limiter.delayFor('a', 0)).toBe(0);
  });
});
