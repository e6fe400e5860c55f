import { DomainError } from '@app/common';
import { bucketStart, dayKey, fillSeries, resolveRange } from './stats-range';

const now = new Date('2026-03-15T10:20:30.000Z');
const err = (fn: () => unknown): DomainError => {
  try {
    fn();
  } catch (error) {
    return error as DomainError;
  }
  throw new Error('expected an error');
};

describe('bucketStart / dayKey', () => {
  it('floors to the UTC hour and day', () => {
    expect(bucketStart(new Date('2026-03-15T10:59:59.999Z'), 'hour').toISOString()).toBe(
      '2026-03-15T10:00:00.000Z',
    );
    expect(bucketStart(new Date('2026-03-15T23:59:59.999Z'), 'day').toISOString()).toBe(
      '2026-03-15T00:00:00.000Z',
    );
    expect(dayKey(new Date('2026-03-15T23:59:59.999Z'))).toBe('2026-03-15');
  });
});

describe('resolveRange', () => {
  it('defaults to the last 30 UTC days (today included), daily', () => {
    const range = resolveRange({}, now);
    expect(range.granularity).toBe('day');
    expect(range.buckets).toHaveLength(30);
    expect(range.since.toISOString()).toBe('2026-02-14T00:00:00.000Z');
    expect(range.until.toISOString()).toBe('2026-03-16T00:00:00.000Z');
    expect(range.buckets.at(-1)?.toISOString()).toBe('2026-03-15T00:00:00.000Z');
    expect(range.days).toHaveLength(30);
    expect(range.days[0]).toBe('2026-02-14');
  });

  it('treats until as exclusive and widens to whole buckets', () => {
    const range = resolveRange(
      { since: new Date('2026-01-01'), until: new Date('2026-01-31T00:00:00Z') },
      now,
    );
    expect(range.buckets).toHaveLength(30);
    const partial = resolveRange(
      { since: new Date('2026-01-01T05:30:00Z'), until: new Date('2026-01-02T00:00:01Z') },
      now,
    );
    expect(partial.since.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(partial.until.toISOString()).toBe('2026-01-03T00:00:00.000Z');
    expect(partial.buckets.map((b) => b.toISOString())).toEqual([
      '2026-01-01T00:00:00.000Z',
      '2026-01-02T00:00:00.000Z',
    ]);
  });

  it('builds hourly buckets and the days they touch', () => {
    const range = resolveRange(
      {
        since: new Date('2026-01-01T22:15:00Z'),
        until: new Date('2026-01-02T02:00:00Z'),
        granularity: 'hour',
      },
      now,
    );
    expect(range.buckets.map((b) => b.toISOString().slice(11, 13))).toEqual([
      '22',
      '23',
      '00',
      '01',
    ]);
    expect(range.days).toEqual(['2026-01-01', '2026-01-02']);
  });

  it('accepts offsets and converts them to UTC', () => {
    const range = resolveRange(
      {
        since: new Date('2026-01-01T02:00:00+02:00'),
        until: new Date('2026-01-01T03:00:00+02:00'),
        granularity: 'hour',
      },
      now,
    );
    expect(range.since.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(range.buckets).toHaveLength(1);
  });

  it('an empty window (since = until) has no buckets', () => {
    expect(
      resolveRange(
        { since: new Date('2026-01-01T00:00:00Z'), until: new Date('2026-01-01T00:00:00Z') },
        now,
      ).buckets,
    ).toEqual([]);
  });

  it('rejects since after until (400 STATS_RANGE_INVALID)', () => {
    const error = err(() =>
      resolveRange({ since: new Date('2026-02-01'), until: new Date('2026-01-01') }, now),
    );
    expect(error).toMatchObject({ status: 400, code: 'STATS_RANGE_INVALID' });
  });

  it('rejects more than 366 days, and more than 31 days hourly (400 STATS_RANGE_TOO_LARGE)', () => {
    expect(
      resolveRange({ since: new Date('2025-01-01'), until: new Date('2026-01-02') }, now).buckets,
    ).toHaveLength(366);
    expect(
      err(() =>
        resolveRange(
          { since: new Date('2025-01-01'), until: new Date('2026-01-02T00:00:00.001Z') },
          now,
        ),
      ),
    ).toMatchObject({ status: 400, code: 'STATS_RANGE_TOO_LARGE' });
    expect(
      resolveRange(
        { since: new Date('2026-01-01'), until: new Date('2026-02-01'), granularity: 'hour' },
        now,
      ).buckets,
    ).toHaveLength(744);
    expect(
      err(() =>
        resolveRange(
          {
            since: new Date('2026-01-01'),
            until: new Date('2026-02-01T00:00:01Z'),
            granularity: 'hour',
          },
          now,
        ),
      ),
    ).toMatchObject({ status: 400, code: 'STATS_RANGE_TOO_LARGE' });
  });

  it('holds the widened window to the maximum, so no more buckets than allowed come back', () => {
    // 366 days from noon to noon touch 367 UTC days.
    expect(
      err(() =>
        resolveRange(
          { since: new Date('2025-12-05T12:00:00Z'), until: new Date('2026-12-06T12:00:00Z') },
          now,
        ),
      ),
    ).toMatchObject({
      status: 400,
      code: 'STATS_RANGE_TOO_LARGE',
      details: {
        since: '2025-12-05T00:00:00.000Z',
        until: '2026-12-07T00:00:00.000Z',
        maxDays: 366,
      },
    });
    expect(
      resolveRange(
        { since: new Date('2025-12-05T12:00:00Z'), until: new Date('2026-12-05T12:00:00Z') },
        now,
      ).buckets,
    ).toHaveLength(366);
    // 31 days from half past to half past touch 745 UTC hours.
    expect(
      err(() =>
        resolveRange(
          {
            since: new Date('2026-01-01T00:30:00Z'),
            until: new Date('2026-02-01T00:30:00Z'),
            granularity: 'hour',
          },
          now,
        ),
      ),
    ).toMatchObject({ status: 400, code: 'STATS_RANGE_TOO_LARGE' });
  });

  it('defaults since relative to a given until', () => {
    const range = resolveRange({ until: new Date('2026-01-31T00:00:00Z') }, now);
    expect(range.since.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(range.buckets).toHaveLength(30);
  });
});

describe('fillSeries', () => {
  it('fills empty buckets with zeros and sums rows of several sessions', () => {
    const buckets = resolveRange(
      { since: new Date('2026-01-01'), until: new Date('2026-01-04') },
      now,
    ).buckets;
    const series = fillSeries(buckets, [
      { bucket: new Date('2026-01-02T00:00:00Z'), sent: 2, received: 1 },
      { bucket: new Date('2026-01-02T00:00:00Z'), sent: 1 },
      { bucket: new Date('2026-01-09T00:00:00Z'), sent: 100 }, // outside: ignored
    ]);
    expect(series).toEqual([
      { bucket: '2026-01-01T00:00:00.000Z', sent: 0, received: 0 },
      { bucket: '2026-01-02T00:00:00.000Z', sent: 3, received: 1 },
      { bucket: '2026-01-03T00:00:00.000Z', sent: 0, received: 0 },
    ]);
  });
});
