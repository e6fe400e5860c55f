import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { flattenValidationErrors } from '@app/common';
import { StatsQueryDto } from './stats-query.dto';

function check(plain: object): { value: StatsQueryDto; errors: Record<string, string[]> } {
  const value = plainToInstance(StatsQueryDto, plain);
  const errors = flattenValidationErrors(
    validateSync(value, { whitelist: true, forbidNonWhitelisted: true }),
  );
  return { value, errors };
}

describe('StatsQueryDto', () => {
  it('reads since and until as instants', () => {
    const { value, errors } = check({ since: '2026-01-01', until: '2026-01-02T03:00:00+02:00' });
    expect(errors).toEqual({});
    expect(value.since?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(value.until?.toISOString()).toBe('2026-01-02T01:00:00.000Z');
  });

  it.each([
    'yesterday',
    '2026-13-01',
    '2026-01-01T10:00:00', // no zone
    '2026-02-30', // a day the calendar lacks
    '2026-12-01T23:59:60Z', // a leap second: the pattern's shape, but no instant
  ])('rejects %s like any malformed date', (since) => {
    expect(check({ since }).errors).toEqual({
      since: ['since must be an ISO 8601 date in UTC, e.g. 2026-01-01 or 2026-01-01T00:00:00Z'],
    });
  });
});

describe('StatsQueryDto bounds', () => {
  // The window is echoed back widened to whole buckets: its ends must print as RFC 3339 date-times.
  it.each([
    ['until', '9999-12-31T23:59:59.999Z'],
    ['until', '9999-12-31T00:00:00.001Z'],
    ['since', '0000-01-01T00:00:00+01:00'],
  ])('refuses %s %s, whose window would end outside the years 0000–9999', (field, value) => {
    expect(check({ [field]: value }).errors).toEqual({
      [field]: [`${field} must lie between 0000-01-01 and 9999-12-31T00:00:00Z`],
    });
  });

  it('takes the last instant whose window still ends in 9999', () => {
    expect(check({ since: '0000-01-01', until: '9999-12-31T00:00:00Z' }).errors).toEqual({});
  });
});
