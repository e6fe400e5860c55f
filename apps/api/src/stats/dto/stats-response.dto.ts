import { ApiProperty } from '@nestjs/swagger';
import { MESSAGE_STATUSES } from '../../messaging/message.types';
import { STATS_MESSAGE_TYPES } from '../stats-counters';
import { STATS_GRANULARITIES, type StatsGranularity } from '../stats-range';

export class StatsRangeDto {
  @ApiProperty({
    description:
      'Start of the first bucket (inclusive, UTC): the requested `since` rounded down to its bucket',
    example: '2026-01-01T00:00:00.000Z',
  })
  since: string;

  @ApiProperty({
    description:
      'End of the last bucket (exclusive, UTC): the requested `until` rounded up to a bucket end',
    example: '2026-01-31T00:00:00.000Z',
  })
  until: string;

  @ApiProperty({
    description: 'Bucket size of `series`',
    enum: STATS_GRANULARITIES,
    enumName: 'StatsGranularity',
    example: 'day',
  })
  granularity: StatsGranularity;

  @ApiProperty({
    description: 'The session the figures are limited to, or null for the whole organization',
    example: 'sales-1',
    nullable: true,
    type: String,
  })
  sessionName: string | null;
}

export class StatsSessionsDto {
  @ApiProperty({
    description: 'Sessions of the organization (or 1/0 with `sessionName`)',
    example: 3,
  })
  total: number;

  @ApiProperty({ description: 'Sessions currently in status `connected`', example: 2 })
  connected: number;

  @ApiProperty({
    description: 'Sessions per current status (only statuses that occur)',
    type: 'object',
    additionalProperties: { type: 'integer' },
    example: { connected: 2, qr_ready: 1 },
  })
  byStatus: Record<string, number>;
}

export class StatsByStatusDto {
  @ApiProperty({ description: 'Outgoing, accepted but not yet sent', example: 1 })
  pending: number;
  @ApiProperty({ description: 'Outgoing, sent to WhatsApp, no delivery receipt yet', example: 10 })
  sent: number;
  @ApiProperty({ description: 'Outgoing, delivered to the device, not read', example: 40 })
  delivered: number;
  @ApiProperty({ description: 'Outgoing, read by the recipient', example: 45 })
  read: number;
  @ApiProperty({ description: 'Outgoing voice/video, played by the recipient', example: 2 })
  played: number;
  @ApiProperty({ description: 'Outgoing, failed to send', example: 2 })
  failed: number;
}

export class StatsFailureReasonDto {
  @ApiProperty({
    description:
      'Failure reason as reported by the sender (whitespace collapsed, at most 200 characters)',
    example: 'Session not connected',
  })
  reason: string;

  @ApiProperty({
    description: 'Failed outgoing messages with this reason in the window',
    example: 2,
  })
  count: number;
}

export class StatsMessagesDto {
  @ApiProperty({ description: 'sent + received', example: 220 })
  total: number;

  @ApiProperty({
    description:
      'Outgoing messages created in the window (any status, including pending and failed)',
    example: 100,
  })
  sent: number;

  @ApiProperty({ description: 'Incoming messages created in the window', example: 120 })
  received: number;

  @ApiProperty({
    description:
      'Outgoing messages of the window by their current status (sums to `sent`). A status change moves the message within the bucket of its creation time.',
    type: StatsByStatusDto,
  })
  byStatus: StatsByStatusDto;

  @ApiProperty({
    description: `Messages of both directions by type; every type is present: ${STATS_MESSAGE_TYPES.join(', ')}`,
    type: 'object',
    additionalProperties: { type: 'integer' },
    example: {
      text: 200,
      image: 15,
      video: 0,
      audio: 0,
      voice: 5,
      document: 0,
      sticker: 0,
      location: 0,
      contact: 0,
      reaction: 0,
      poll: 0,
      revoke: 0,
      edit: 0,
      unknown: 0,
    },
  })
  byType: Record<string, number>;

  @ApiProperty({
    description:
      '(delivered + read + played) / (sent + delivered + read + played + failed) over outgoing messages of the window, i.e. among ' +
      `outgoing messages that left pending, the share that reached the device. 0 when there are none. 4 decimals. Statuses: ${MESSAGE_STATUSES.join(', ')}.`,
    example: 0.9596,
  })
  deliveryRate: number;

  @ApiProperty({
    description:
      '(read + played) / (sent + delivered + read + played + failed) over outgoing messages of the window; 0 when there are none. 4 decimals.',
    example: 0.4747,
  })
  readRate: number;

  @ApiProperty({
    description:
      'The 5 most frequent failure reasons of the window, most frequent first (ties by reason)',
    type: StatsFailureReasonDto,
    isArray: true,
  })
  topFailureReasons: StatsFailureReasonDto[];
}

export class StatsSeriesPointDto {
  @ApiProperty({ description: 'Bucket start (UTC)', example: '2026-01-01T00:00:00.000Z' })
  bucket: string;

  @ApiProperty({ description: 'Outgoing messages created in the bucket', example: 4 })
  sent: number;

  @ApiProperty({ description: 'Incoming messages created in the bucket', example: 7 })
  received: number;
}

export class StatsContactsDto {
  @ApiProperty({ description: 'Contacts of the organization (or of the session)', example: 57 })
  total: number;

  @ApiProperty({ description: 'Contacts first seen in the window', example: 12 })
  new: number;

  @ApiProperty({ description: 'Contacts linked to a CRM customer', example: 20 })
  linkedToCustomers: number;
}

export class StatsResponsivenessDto {
  @ApiProperty({
    description:
      'Median first-response time in milliseconds: for each chat, from the first inbound message not yet answered to our next outgoing message ' +
      'in that chat that went out (sent or beyond; a failed one answers nothing), by message times, over such inbound messages inside the window ' +
      'that were answered. A reply to the phone of a LID sender counts for the LID chat. Reactions, edits and revokes neither open nor answer a wait; ' +
      'broadcasts, channels and history-sync messages are ignored. Even counts average the two middle values. null without samples.',
    example: 95000,
    nullable: true,
    type: Number,
  })
  medianFirstResponseMs: number | null;

  @ApiProperty({ description: 'Answered waits (samples) the median is taken over', example: 42 })
  samples: number;
}

export class StatsResponseDto {
  @ApiProperty({
    description: 'The window the figures cover, aligned to whole buckets',
    type: StatsRangeDto,
  })
  range: StatsRangeDto;

  @ApiProperty({
    description: 'Current sessions (not limited to the window)',
    type: StatsSessionsDto,
  })
  sessions: StatsSessionsDto;

  @ApiProperty({ description: 'Messages created in the window', type: StatsMessagesDto })
  messages: StatsMessagesDto;

  @ApiProperty({
    description: 'One point per bucket of the window, oldest first; empty buckets are zero',
    type: StatsSeriesPointDto,
    isArray: true,
  })
  series: StatsSeriesPointDto[];

  @ApiProperty({
    description: 'Contact book figures (`new` = first seen in the window)',
    type: StatsContactsDto,
  })
  contacts: StatsContactsDto;

  @ApiProperty({
    description: 'First-response times to inbound messages of the window',
    type: StatsResponsivenessDto,
  })
  responsiveness: StatsResponsivenessDto;

  @ApiProperty({
    description: 'When this answer was computed (UTC)',
    example: '2026-01-31T12:00:00.000Z',
  })
  generatedAt: string;
}
