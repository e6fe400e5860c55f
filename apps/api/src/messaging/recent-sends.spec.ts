import { RecentSends } from './recent-sends';

describe('RecentSends', () => {
  it('knows a send by its session and WhatsApp id', () => {
    const sends = new RecentSends();
    sends.remember('org1_main', 'WA1');
    expect(sends.has('org1_main', 'WA1')).toBe(true);
    expect(sends.has('org1_other', 'WA1')).toBe(false);
    expect(sends.has('org1_main', 'WA2')).toBe(false);
  });

  it('forgets the oldest send past its capacity, a repeated one counting as new', () => {
    const sends = new RecentSends(2);
    sends.remember('s', 'WA1');
    sends.remember('s', 'WA2');
    sends.remember('s', 'WA1');
    sends.remember('s', 'WA3');
    expect(sends.has('s', 'WA2')).toBe(false);
    expect(sends.has('s', 'WA1')).toBe(true);
    expect(sends.has('s', 'WA3')).toBe(true);
  });
});
