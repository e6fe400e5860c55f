import { nextAttemptAt } from './webhook-backoff';

const HOUR = 3_600_000;
const policy = { baseMs: 5_000, capMs: HOUR, windowMs: 24 * HOUR };

describe('webhook backoff', () => {
  it('gives up once the next attempt would fall outside the 24 h window', () => {
    const start = new Date('2026-01-01T00:00:00Z');
    const early = nextAttemptAt(1, start, new Date(start.getTime() + 1_000), policy, () => 0.5);
    expect(early?.getTime()).toBe(start.getTime() + 6_000);
    expect(
      nextAttemptAt(20, start, new Date(start.getTime() + 23.5 * HOUR), policy, () => 0.5),
    ).toBeNull();
    expect(
      nextAttemptAt(20, start, new Date(start.getTime() + 22 * HOUR), policy, () => 0.5),
    ).not.toBeNull();
  });

  it('spans about 24 h of retries from the default base before failing', () => {
    const start = new Date(0);
    let now = start;
    let attempts = 0;
    for (;;) {
      attempts += 1;
      const next = nextAttemptAt(attempts, start, now, policy, () => 0.5);
      if (!next) break;
      now = next;
    }
    expect(now.getTime()).toBeGreaterThan(22 * HOUR);
    expect(attempts).toBeGreaterThan(20);
    expect(attempts).toBeLessThan(40);
  });
});
