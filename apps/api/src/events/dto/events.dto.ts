import { ApiProperty, ApiPropertyOptional, PickType } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
} from 'class-validator';
import {
  SESSION_NAME_MESSAGE,
  SESSION_NAME_PATTERN,
  SESSION_STATUSES,
  SessionResponseDto,
} from '../../whatsapp-session/dto/session.dto';
import { EVENT_TYPES, type EventType } from '../events.types';

const commaList = ({ value }: { value: unknown }) =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean)
    : value;

export class EventStreamQueryDto {
  @ApiPropertyOptional({
    description: `Comma-separated event types to receive (default: all). One of: ${EVENT_TYPES.join(', ')}`,
    enum: EVENT_TYPES,
    enumName: 'EventType',
    // One parameter, its items joined with commas (commaQueryArrays() in app.setup.ts).
    isArray: true,
  })
  @IsOptional()
  @Transform(commaList)
  @IsArray()
  @ArrayMaxSize(EVENT_TYPES.length)
  @IsIn(EVENT_TYPES, {
    each: true,
    message: `types must be a comma-separated list of: ${EVENT_TYPES.join(', ')}`,
  })
  types?: EventType[];

  @ApiPropertyOptional({ description: 'Only events of this session', example: 'sales-1' })
  @IsOptional()
  @Matches(SESSION_NAME_PATTERN, {
    message: SESSION_NAME_MESSAGE,
  })
  sessionName?: string;

  @ApiPropertyOptional({
    description:
      'Resume after this event id (same as the Last-Event-ID header, which wins); events within the 7-day retention are replayed first. Not an event id (24 hex characters): 400 INVALID_LAST_EVENT_ID',
    example: '6650a1b2003e8a0000001f3c',
  })
  @IsOptional()
  // Its form is checked with the header's (INVALID_LAST_EVENT_ID), which wins when both are sent.
  @IsString()
  lastEventId?: string;

  @ApiPropertyOptional({
    name: 'access_token',
    description:
      'Short-lived stream token from POST /api/v1/events/token, for clients that cannot set headers (EventSource)',
    example: 'eyJhbGciOiJIUzI1NiIs...',
  })
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  access_token?: string;
}

export class EventStreamTokenResponseDto {
  @ApiProperty({
    description: 'Token for `GET /api/v1/events?access_token=…`; accepted by no other route',
    example: 'eyJhbGciOiJIUzI1NiIs...',
  })
  token: string;

  @ApiProperty({
    description: 'Lifetime in seconds (only the connection has to start within it)',
    example: 60,
  })
  expiresIn: number;
}

export class EventEnvelopeDto {
  @ApiProperty({
    description: 'Unique, time-ordered event id: dedupe key, SSE `id:`, webhook `X-Webhook-Id`',
    example: '6650a1b2003e8a0000001f3c',
  })
  id: string;

  @ApiProperty({ enum: EVENT_TYPES, enumName: 'EventType', example: 'message.received' })
  type: EventType;

  @ApiProperty({ example: '665f1c2b1e6a3e4f7e9d0e0b' })
  organizationId: string;

  @ApiProperty({ example: 'sales-1' })
  sessionName: string;

  @ApiProperty({ description: 'When it happened (ISO 8601)', example: '2026-01-01T10:00:00.000Z' })
  occurredAt: string;

  @ApiProperty({
    description:
      'The REST representation: MessageResponseDto for message.*, ContactResponseDto for contact.updated, ' +
      "SessionStatusEventDataDto for session.status (previousStatus is null on the session's first status event), " +
      '{sessionId, sessionName, status, qr, expiresAt} for session.qr, ' +
      'SessionDeletedEventDataDto for session.deleted (after its logout: the session is gone, its messages and contacts stay), ' +
      "{marked, readOn: 'gateway' | 'phone', chat: ChatResponseDto} for chat.read (received messages of the chat became read)",
    type: 'object',
    additionalProperties: true,
    example: {
      id: '665f1c2b1e6a3e4f7e9d0e0c',
      direction: 'in',
      type: 'text',
      text: 'Hi',
      status: 'delivered',
    },
  })
  data: Record<string, unknown>;
}

/** `data` of a `session.status` event: the session's own fields, and the status it left. */
export class SessionStatusEventDataDto extends PickType(SessionResponseDto, [
  'sessionId',
  'sessionName',
  'status',
  'phone',
  'jid',
  'lastError',
] as const) {
  @ApiProperty({
    description:
      "The status announced before this one; null on the session's first status event (the status a session is created with is never announced)",
    // null listed in the enum itself: OpenAPI 3.0 ignores `nullable` next to a $ref.
    enum: [...SESSION_STATUSES, null],
    enumName: 'PreviousSessionStatus',
    example: 'connecting',
    nullable: true,
  })
  previousStatus: (typeof SESSION_STATUSES)[number] | null;

  @ApiProperty({ description: 'When the status changed', example: '2026-01-01T09:00:00.000Z' })
  statusChangedAt: string;
}

/**
 * `data` of a `session.deleted` event: the session was deleted (its logout came before, as a
 * `session.status`, unless it was logged out already). Announced once per deletion.
 */
export class SessionDeletedEventDataDto extends PickType(SessionResponseDto, [
  'sessionId',
  'sessionName',
] as const) {
  @ApiPropertyOptional({
    description: 'The number the session was linked to last, when it had been linked',
    example: '201001234567',
  })
  phone?: string;

  @ApiProperty({ description: 'When it was deleted', example: '2026-01-01T09:00:00.000Z' })
  deletedAt: string;
}
