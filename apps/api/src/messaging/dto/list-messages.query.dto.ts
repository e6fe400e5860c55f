import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsDate, IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { PaginationQueryDto, SearchQuery, toIsoInstant } from '@app/common';
import { SESSION_NAME_MESSAGE, SESSION_NAME_PATTERN } from '../../whatsapp-session/dto/session.dto';
import {
  MESSAGE_DIRECTIONS,
  MESSAGE_STATUSES,
  type MessageDirection,
  type MessageStatus,
} from '../message.types';
import { CHAT_PATTERN, CHAT_PATTERN_MESSAGE } from '../chat-jid';
import { MESSAGE_TYPES } from './message-response.dto';

export class ListMessagesQueryDto extends PaginationQueryDto {
  @ApiPropertyOptional({ example: 'sales-1' })
  @IsOptional()
  @Matches(SESSION_NAME_PATTERN, {
    message: SESSION_NAME_MESSAGE,
  })
  sessionName?: string;

  @ApiPropertyOptional({
    description: 'Chat JID or phone number',
    example: '201001234567@s.whatsapp.net',
  })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  @Matches(CHAT_PATTERN, { message: CHAT_PATTERN_MESSAGE })
  chat?: string;

  @ApiPropertyOptional({ enum: MESSAGE_DIRECTIONS, enumName: 'MessageDirection', example: 'in' })
  @IsOptional()
  @IsIn(MESSAGE_DIRECTIONS)
  direction?: MessageDirection;

  @ApiPropertyOptional({ enum: MESSAGE_STATUSES, enumName: 'MessageStatus', example: 'delivered' })
  @IsOptional()
  @IsIn(MESSAGE_STATUSES)
  status?: MessageStatus;

  @ApiPropertyOptional({ enum: MESSAGE_TYPES, enumName: 'MessageType', example: 'text' })
  @IsOptional()
  @IsIn(MESSAGE_TYPES)
  type?: string;

  @ApiPropertyOptional({
    description: 'ISO 8601; messages at or after',
    example: '2026-01-01T00:00:00Z',
  })
  @IsOptional()
  @Transform(toIsoInstant)
  @IsDate({ message: 'since must be an ISO 8601 date' })
  since?: Date;

  @ApiPropertyOptional({
    description: 'ISO 8601; messages before (after since, else 400)',
    example: '2026-02-01T00:00:00Z',
  })
  @IsOptional()
  @Transform(toIsoInstant)
  @IsDate({ message: 'until must be an ISO 8601 date' })
  until?: Date;

  @ApiPropertyOptional({ description: 'Case-insensitive text/caption search', example: 'invoice' })
  @SearchQuery({ trim: false })
  search?: string;

  @ApiPropertyOptional({
    description:
      'Cursor: only messages older than this message id (for long chats; use with limit; with page > 1 it is a 400)',
    example: '665f1c2b1e6a3e4f7e9d0e0d',
  })
  @IsOptional()
  @Matches(/^[a-f0-9]{24}$/, { message: 'before must be a message id' })
  before?: string;
}

export class ListChatsQueryDto extends PaginationQueryDto {
  @ApiPropertyOptional({ example: 'sales-1' })
  @IsOptional()
  @Matches(SESSION_NAME_PATTERN, {
    message: SESSION_NAME_MESSAGE,
  })
  sessionName?: string;
}
