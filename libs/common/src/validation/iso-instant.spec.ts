import { parseIsoInstant, toIsoInstant } from './iso-instant';

describe('parseIsoInstant', () => {
  it('reads dates and zoned date-times', () => {
    expect(parseIsoInstant('2026-02-28')?.toISOString()).toBe('2026-02-28T00:00:00.000Z');
    expect(parseIsoInstant('2028-02-29')?.toISOString()).toBe('2028-02-29T00:00:00.000Z');
    expect(parseIsoInstant('2026-03-01T10:30:00+02:00')?.toISOString()).toBe(
      '2026-03-01T08:30:00.000Z',
    );
    expect(parseIsoInstant('2026-12-31T23:59:59.999Z')?.toISOString()).toBe(
      '2026-12-31T23:59:59.999Z',
    );
  });

  it('refuses days the calendar lacks instead of rolling them into the next month', () => {
    for (const day of ['2026-02-29', '2026-02-30', '2026-04-31', '2026-11-31T10:00:00Z'])
      expect(parseIsoInstant(day)).toBeUndefined();
  });

  it('refuses other shapes, zone-less date-times and impossible times', () => {
    for (const value of [
      '1',
      'December 17, 1995',
      '2026-01-01T10:00',
      '2026-13-01',
      '2026-01-01T25:00Z',
    ])
      expect(parseIsoInstant(value)).toBeUndefined();
  });

  it('as a transform, leaves an invalid Date for @IsDate and non-strings alone', () => {
    expect(Number.isNaN((toIsoInstant({ value: '2026-02-30' }) as Date).getTime())).toBe(true);
    expect(toIsoInstant({ value: 5 })).toBe(5);
  });

  it('reads the years 0000–0099 as themselves (Date.UTC would take them for 1900–1999)', () => {
    expect(parseIsoInstant('0050-03-01')?.toISOString()).toBe('0050-03-01T00:00:00.000Z');
    expect(parseIsoInstant('0000-02-29')?.toISOString()).toBe('0000-02-29T00:00:00.000Z'); // a leap year
    expect(parseIsoInstant('0001-02-29')).toBeUndefined();
  });
});
