import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  Equals,
  IsArray,
  IsBoolean,
  IsIn,
  IsOptional,
  IsUrl,
  Matches,
  MaxLength,
  ValidateIf,
} from 'class-validator';
import { PaginationQueryDto, IsOmittable } from '@app/common';
import { EVENT_TYPES } from '../../events/events.types';
import { SESSION_NAME_MESSAGE, SESSION_NAME_PATTERN } from '../../whatsapp-session/dto/session.dto';
import { DELIVERY_STATUSES, type DeliveryStatus } from '../schemas/webhook-delivery.schema';

export const WEBHOOK_EVENT_FILTERS = ['*', ...EVENT_TYPES] as const;
const URL_OPTIONS = {
  protocols: ['http', 'https'],
  require_protocol: true,
  require_tld: false,
  allow_underscores: true,
};
const URL_MESSAGE = 'url must be an absolute http:// or https:// URL';
const EVENTS_MESSAGE = `events must contain '*' or event types: ${EVENT_TYPES.join(', ')}`;

export class CreateWebhookDto {
  @ApiProperty({
    description:
      'Receiver URL (http or https). Hosts resolving to loopback, private or link-local addresses are refused unless listed in WEBHOOK_ALLOWED_HOSTS. Credentials in it (`https://user:password@…`) are sent as HTTP Basic auth; the password is never shown back (it reads as `****`)',
    example: 'https://crm.example.com/hooks/whatsapp',
    maxLength: 2048,
  })
  @MaxLength(2048)
  @IsUrl(URL_OPTIONS, { message: URL_MESSAGE })
  url: string;

  @ApiProperty({
    description: "Event types to deliver, or ['*'] for all",
    enum: WEBHOOK_EVENT_FILTERS,
    enumName: 'WebhookEventFilter',
    isArray: true,
    example: ['message.received', 'message.status'],
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(WEBHOOK_EVENT_FILTERS.length)
  @ArrayUnique()
  @IsIn(WEBHOOK_EVENT_FILTERS, { each: true, message: EVENTS_MESSAGE })
  events: string[];

  @ApiPropertyOptional({
    description: 'Only events of this session (default, or null: all sessions)',
    example: 'sales-1',
    type: String,
    nullable: true,
  })
  @IsOptional()
  @Matches(SESSION_NAME_PATTERN, { message: SESSION_NAME_MESSAGE })
  sessionName?: string | null;

  @ApiPropertyOptional({ description: 'Deliver events (default true)', example: true })
  @IsOmittable()
  @IsBoolean()
  enabled?: boolean;
}

export class UpdateWebhookDto {
  @ApiPropertyOptional({
    description:
      'New receiver URL (checked like on create). A password of `****` keeps the stored password (or none, when none is stored), so a URL read back from the API can be sent again as it is (same scheme, host, port and user only: elsewhere a 400)',
    example: 'https://crm.example.com/hooks/whatsapp-v2',
    maxLength: 2048,
  })
  @IsOmittable()
  @MaxLength(2048)
  @IsUrl(URL_OPTIONS, { message: URL_MESSAGE })
  url?: string;

  @ApiPropertyOptional({
    description: "Event types, or ['*']",
    enum: WEBHOOK_EVENT_FILTERS,
    enumName: 'WebhookEventFilter',
    isArray: true,
    example: ['*'],
  })
  @IsOmittable()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(WEBHOOK_EVENT_FILTERS.length)
  @ArrayUnique()
  @IsIn(WEBHOOK_EVENT_FILTERS, { each: true, message: EVENTS_MESSAGE })
  events?: string[];

  @ApiPropertyOptional({
    description: 'Only events of this session; null = all sessions',
    example: 'sales-1',
    nullable: true,
    type: String,
  })
  @IsOptional()
  @ValidateIf((_o, value) => value !== null)
  @Matches(SESSION_NAME_PATTERN, { message: SESSION_NAME_MESSAGE })
  sessionName?: string | null;

  @ApiPropertyOptional({
    description: 'Enable or disable. Enabling clears an automatic disable (disabledReason)',
    example: true,
  })
  @IsOmittable()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({
    description:
      'true: generate a new signing secret, returned once in `secret`; the old one stops working at once',
    example: true,
    enum: [true],
  })
  @IsOmittable()
  @Equals(true, { message: 'rotateSecret must be true when present' })
  rotateSecret?: true;
}

export class WebhookResponseDto {
  @ApiProperty({ example: '6650a1b2c3d4e5f601234567' })
  id: string;

  @ApiProperty({
    description: 'Receiver URL; a password in it reads as `****`',
    example: 'https://crm.example.com/hooks/whatsapp',
  })
  url: string;

  @ApiProperty({
    enum: WEBHOOK_EVENT_FILTERS,
    enumName: 'WebhookEventFilter',
    isArray: true,
    example: ['message.received'],
  })
  events: string[];

  @ApiPropertyOptional({ example: 'sales-1' })
  sessionName?: string;

  @ApiProperty({ example: true })
  enabled: boolean;

  @ApiPropertyOptional({
    description: 'Why the gateway disabled it (every attempt failed for 24 h)',
    example: 'Disabled automatically: every delivery attempt failed for 24 h …',
  })
  disabledReason?: string;

  @ApiPropertyOptional({ example: '2026-01-02T10:00:00.000Z' })
  disabledAt?: Date;

  @ApiPropertyOptional({
    description: 'Attempts have been failing since then (cleared by a success)',
    example: '2026-01-01T10:00:00.000Z',
  })
  failingSince?: Date;

  @ApiPropertyOptional({ example: '2026-01-01T10:05:00.000Z' })
  lastFailureAt?: Date;

  @ApiPropertyOptional({ example: 'HTTP 503: upstream unavailable' })
  lastError?: string;

  @ApiProperty({ example: '2026-01-01T09:00:00.000Z' })
  createdAt: Date;

  @ApiProperty({ example: '2026-01-01T09:00:00.000Z' })
  updatedAt: Date;
}

export class CreatedWebhookResponseDto extends WebhookResponseDto {
  @ApiProperty({
    description: 'Signing secret (HMAC-SHA256 key). Shown only now: store it',
    example: 'whsec_3q2+7w…',
  })
  secret: string;
}

export class UpdatedWebhookResponseDto extends WebhookResponseDto {
  @ApiPropertyOptional({
    description: 'The new signing secret, only when rotateSecret was true. Shown only now',
    example: 'whsec_9kLm…',
  })
  secret?: string;
}

export class ListDeliveriesQueryDto extends PaginationQueryDto {
  @ApiPropertyOptional({
    enum: DELIVERY_STATUSES,
    enumName: 'WebhookDeliveryStatus',
    example: 'failed',
  })
  @IsOptional()
  @IsIn(DELIVERY_STATUSES)
  status?: DeliveryStatus;
}

export class DeliveryResponseDto {
  @ApiProperty({ example: '6650a1b2c3d4e5f601234568' })
  id: string;

  @ApiProperty({ example: '6650a1b2c3d4e5f601234567' })
  webhookId: string;

  @ApiProperty({
    description: 'Event id (X-Webhook-Id, body `id`)',
    example: '6650a1b2003e8a0000001f3c',
  })
  eventId: string;

  @ApiProperty({ enum: EVENT_TYPES, enumName: 'EventType', example: 'message.received' })
  eventType: string;

  @ApiProperty({ example: 'sales-1' })
  sessionName: string;

  @ApiProperty({ enum: DELIVERY_STATUSES, enumName: 'WebhookDeliveryStatus', example: 'pending' })
  status: DeliveryStatus;

  @ApiProperty({ description: 'Attempts made so far', example: 2 })
  attempts: number;

  @ApiPropertyOptional({
    description: 'HTTP status of the last attempt (absent for timeouts and network errors)',
    example: 503,
  })
  lastResponseCode?: number;

  @ApiPropertyOptional({ example: 'HTTP 503: upstream unavailable' })
  lastError?: string;

  @ApiPropertyOptional({ example: 120 })
  lastDurationMs?: number;

  @ApiPropertyOptional({ example: '2026-01-01T10:00:05.000Z' })
  lastAttemptAt?: Date;

  @ApiPropertyOptional({
    description: 'When the next attempt is due (pending)',
    example: '2026-01-01T10:00:15.000Z',
  })
  nextAttemptAt?: Date;

  @ApiPropertyOptional({ example: '2026-01-01T10:00:16.000Z' })
  deliveredAt?: Date;

  @ApiPropertyOptional({ example: '2026-01-02T10:00:00.000Z' })
  failedAt?: Date;

  @ApiProperty({ example: '2026-01-01T10:00:00.000Z' })
  createdAt: Date;
}

export class DeliveryPageDto {
  @ApiProperty({ type: [DeliveryResponseDto], description: 'Newest event first' })
  items: DeliveryResponseDto[];

  @ApiProperty({ example: 42 })
  total: number;

  @ApiProperty({ example: 1 })
  page: number;

  @ApiProperty({ example: 20 })
  limit: number;
}
