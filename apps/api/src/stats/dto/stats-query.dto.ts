import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsDate, IsIn, IsOptional, IsString, Matches, ValidateBy } from 'class-validator';
import { toIsoInstant } from '@app/common';
import {
  MAX_HOUR_RANGE_DAYS,
  MAX_RANGE_DAYS,
  STATS_GRANULARITIES,
  type StatsGranularity,
} from '../stats-range';
import { SESSION_NAME_MESSAGE, SESSION_NAME_PATTERN } from '../../whatsapp-session/dto/session.dto';

const ISO_MESSAGE = (name: string) =>
  `${name} must be an ISO 8601 date in UTC, e.g. 2026-01-01 or 2026-01-01T00:00:00Z`;
/**
 * The window is answered widened to whole buckets: within these its ends still print as RFC 3339
 * date-times (9999-12-31T23:59:59Z widened to the day would end in the year 10000).
 */
const EARLIEST = new Date('0000-01-01T00:00:00Z');
const LATEST = new Date('9999-12-31T00:00:00Z');
/** An instant within EARLIEST–LATEST; one that is no instant is left to `@IsDate`'s message. */
const WithinPrintableYears = (name: string) =>
  ValidateBy({
    name: 'withinPrintableYears',
    validator: {
      validate: (value: unknown) =>
        !(value instanceof Date) ||
        Number.isNaN(value.getTime()) ||
        (value >= EARLIEST && value <= LATEST),
      defaultMessage: () => `${name} must lie between 0000-01-01 and 9999-12-31T00:00:00Z`,
    },
  });

export class StatsQueryDto {
  @ApiPropertyOptional({
    description: 'Only this session of the organization (404 if the organization never had it)',
    example: 'sales-1',
  })
  @IsOptional()
  @IsString()
  @Matches(SESSION_NAME_PATTERN, { message: SESSION_NAME_MESSAGE })
  sessionName?: string;

  @ApiPropertyOptional({
    description:
      'Window start, ISO 8601 UTC (a date means 00:00Z; a date-time needs Z or an offset). Rounded down to its bucket. ' +
      'Default: 00:00Z of the day 29 days before the day of `until` (30 daily buckets). Between 0000-01-01 and 9999-12-31T00:00:00Z.',
    example: '2026-01-01T00:00:00Z',
    type: String,
  })
  @IsOptional()
  @Transform(toIsoInstant)
  @IsDate({ message: ISO_MESSAGE('since') })
  @WithinPrintableYears('since')
  since?: Date;

  @ApiPropertyOptional({
    description: `Window end (exclusive), ISO 8601 UTC; the last bucket is the one holding the instant before it. Default: now. since must not be after until, and the window widened to whole buckets may span at most ${MAX_RANGE_DAYS} days (${MAX_HOUR_RANGE_DAYS} days for hour granularity), else 400. At most 9999-12-31T00:00:00Z (the window is answered widened to whole buckets).`,
    example: '2026-01-31T00:00:00Z',
    type: String,
  })
  @IsOptional()
  @Transform(toIsoInstant)
  @IsDate({ message: ISO_MESSAGE('until') })
  @WithinPrintableYears('until')
  until?: Date;

  @ApiPropertyOptional({
    description: 'Bucket size of `series` (UTC hours or days)',
    enum: STATS_GRANULARITIES,
    enumName: 'StatsGranularity',
    default: 'day',
    example: 'day',
  })
  @IsOptional()
  @IsIn(STATS_GRANULARITIES)
  granularity?: StatsGranularity;
}
