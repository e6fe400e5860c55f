import { StatsRangeError } from './stats.errors';

export const STATS_GRANULARITIES = ['hour', 'day'] as const;
export type StatsGranularity = (typeof STATS_GRANULARITIES)[number];

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
/** Default window: the current UTC day and the 29 before it (30 daily buckets). */
export const DEFAULT_RANGE_DAYS = 30;
/** Longest window for daily buckets, once widened to whole days: 366 buckets (a leap year). */
export const MAX_RANGE_DAYS = 366;
/** Longest window for hourly buckets, once widened to whole hours: 31 days = 744 buckets. */
export const MAX_HOUR_RANGE_DAYS = 31;

const BUCKET_MS: Record<StatsGranularity, number> = { hour: HOUR_MS, day: DAY_MS };

/** A resolved, bucket-aligned window `[since, until)` and its bucket starts. */
export interface StatsRange {
  /** Start of the first bucket (inclusive). */
  since: Date;
  /** End of the last bucket (exclusive). */
  until: Date;
  granularity: StatsGranularity;
  /** Start of every bucket in the window, ascending. */
  buckets: Date[];
  /** UTC days (`YYYY-MM-DD`) the window touches: the keys the bucket and sample indexes are queried by. */
  days: string[];
}

export interface StatsRangeInput {
  since?: Date;
  until?: Date;
  granularity?: StatsGranularity;
}

/** Start of the UTC hour or day containing `at`. */
export function bucketStart(at: Date | number, granularity: StatsGranularity): Date {
  const ms = typeof at === 'number' ? at : at.getTime();
  const size = BUCKET_MS[granularity];
  return new Date(Math.floor(ms / size) * size);
}

/** `YYYY-MM-DD` of the UTC day containing `at`. */
export function dayKey(at: Date | number): string {
  return new Date(typeof at === 'number' ? at : at.getTime()).toISOString().slice(0, 10);
}

/**
 * Validates and aligns a requested window. Defaults: `until` = now, `since` = start of the UTC day
 * 29 days before the day of `until`, granularity `day`. Counters are kept per hour and per day, so
 * the window is widened to whole buckets: `since` is rounded down to its bucket start and `until`
 * up to the end of the bucket holding its last instant (`until` itself is exclusive). The widened
 * window is the one held to the maximum span, so it never has more buckets than the maximum allows.
 */
export function resolveRange(input: StatsRangeInput, now: Date): StatsRange {
  const granularity = input.granularity ?? 'day';
  const until = input.until ?? now;
  const since =
    input.since ??
    new Date(bucketStart(until.getTime() - 1, 'day').getTime() - (DEFAULT_RANGE_DAYS - 1) * DAY_MS);
  const span = until.getTime() - since.getTime();
  if (span < 0) {
    throw new StatsRangeError('STATS_RANGE_INVALID', 'since must not be after until', {
      since: since.toISOString(),
      until: until.toISOString(),
    });
  }
  const size = BUCKET_MS[granularity];
  const alignedSince = bucketStart(since, granularity);
  const alignedUntil =
    span === 0
      ? alignedSince
      : new Date(bucketStart(until.getTime() - 1, granularity).getTime() + size);
  const maxDays = granularity === 'hour' ? MAX_HOUR_RANGE_DAYS : MAX_RANGE_DAYS;
  if (alignedUntil.getTime() - alignedSince.getTime() > maxDays * DAY_MS) {
    throw new StatsRangeError(
      'STATS_RANGE_TOO_LARGE',
      `The range, widened to whole UTC ${granularity}s, may span at most ${maxDays} days`,
      {
        since: alignedSince.toISOString(),
        until: alignedUntil.toISOString(),
        maxDays,
      },
    );
  }
  const buckets: Date[] = [];
  for (let t = alignedSince.getTime(); t < alignedUntil.getTime(); t += size)
    buckets.push(new Date(t));
  const days: string[] = [];
  for (let t = bucketStart(alignedSince, 'day').getTime(); t < alignedUntil.getTime(); t += DAY_MS)
    days.push(dayKey(t));
  return { since: alignedSince, until: alignedUntil, granularity, buckets, days };
}

export interface SeriesPoint {
  bucket: string;
  sent: number;
  received: number;
}

/** One point per bucket of the window, in order; buckets without counters are zero. */
export function fillSeries(
  buckets: Date[],
  rows: Array<{ bucket: Date; sent?: number; received?: number }>,
): SeriesPoint[] {
  const byStart = new Map<number, { sent: number; received: number }>();
  for (const row of rows) {
    const key = row.bucket.getTime();
    const point = byStart.get(key) ?? { sent: 0, received: 0 };
    point.sent += row.sent ?? 0;
    point.received += row.received ?? 0;
    byStart.set(key, point);
  }
  return buckets.map((start) => {
    const point = byStart.get(start.getTime());
    return { bucket: start.toISOString(), sent: point?.sent ?? 0, received: point?.received ?? 0 };
  });
}
