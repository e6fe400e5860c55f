import { ExpiringCache } from './expiring-cache';

describe('ExpiringCache', () => {
  it('answers until the entry expires, then forgets it', () => {
    let now = 1_000;
    const cache = new ExpiringCache<string | null>(100, 10, () => now);
    cache.set('u1', null); // a cached "no such user" is a value too
    expect(cache.get('u1')).toBeNull();
    now += 99;
    expect(cache.get('u1')).toBeNull();
    now += 1;
    expect(cache.get('u1')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('never holds more than its capacity: the oldest written entry goes first', () => {
    const cache = new ExpiringCache<number>(60_000, 3);
    for (let i = 0; i < 5; i++) cache.set(`k${i}`, i);
    cache.set('k2', 22); // rewritten: now the newest
    cache.set('k5', 5);
    expect(cache.size).toBe(3);
    expect([cache.get('k2'), cache.get('k3'), cache.get('k4'), cache.get('k5')]).toEqual([
      22,
      undefined,
      4,
      5,
    ]);
  });
});
