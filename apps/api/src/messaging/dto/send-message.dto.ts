import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBase64,
  IsDefined,
  IsIn,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  MaxLength,
  MinLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { JID_PATTERN, PHONE_PATTERN } from '@app/common';
import { SESSION_NAME_MESSAGE, SESSION_NAME_PATTERN } from '../../whatsapp-session/dto/session.dto';
import { OUTBOUND_MEDIA_TYPES } from '../message.types';

const SEND_TYPES = ['text', ...OUTBOUND_MEDIA_TYPES] as const;
export type SendType = (typeof SEND_TYPES)[number];
const isMedia = (o: SendMessageDto) => o.type !== undefined && o.type !== 'text';
const TO_PATTERN = new RegExp(`(${PHONE_PATTERN.source})|(${JID_PATTERN.source})`);

export class MediaInputDto {
  @ApiPropertyOptional({
    description: 'http(s) URL the gateway downloads the media from (give url or base64)',
    example: 'https://example.com/invoice.pdf',
  })
  @ValidateIf((o: MediaInputDto) => o.base64 === undefined)
  @IsUrl(
    { protocols: ['http', 'https'], require_protocol: true, require_tld: false },
    { message: 'media.url must be an http(s) URL (or give media.base64)' },
  )
  url?: string;

  @ApiPropertyOptional({
    description: 'Media bytes, base64-encoded (give url or base64)',
    example: 'iVBORw0KGgoAAAANSUhEUg…',
  })
  @ValidateIf((o: MediaInputDto) => o.url === undefined)
  @IsBase64({}, { message: 'media.base64 must be base64-encoded bytes (or give media.url)' })
  base64?: string;

  @ApiPropertyOptional({
    description:
      'Required with base64; with url it defaults to the response Content-Type, or to what the bytes are when that is missing or generic (application/octet-stream). The bytes must be of the message type (MEDIA_CONTENT_MISMATCH otherwise)',
    example: 'application/pdf',
  })
  @ValidateIf((o: MediaInputDto) => o.base64 !== undefined || o.mimetype !== undefined)
  @IsString()
  @MaxLength(255)
  mimetype?: string;
}

export class SendMessageDto {
  @ApiProperty({ description: 'Session to send from', example: 'sales-1' })
  @Matches(SESSION_NAME_PATTERN, {
    message: SESSION_NAME_MESSAGE,
  })
  sessionName: string;

  @ApiProperty({
    description:
      'Phone number (10-15 digits, optional +) or a JID (…@s.whatsapp.net, …@g.us, …@lid)',
    example: '+201001234567',
  })
  @IsString()
  @Matches(new RegExp(`^(?:${TO_PATTERN.source})$`), {
    message: 'to must be a phone number of 10-15 digits (optional +) or a WhatsApp JID',
  })
  to: string;

  @ApiPropertyOptional({
    enum: SEND_TYPES,
    enumName: 'SendMessageType',
    description: 'Message type; text when omitted',
    example: 'text',
  })
  @IsOptional()
  @IsIn(SEND_TYPES, { message: `type must be one of: ${SEND_TYPES.join(', ')}` })
  type?: SendType;

  @ApiPropertyOptional({
    description: 'Text of a text message (1-4096 characters)',
    example: 'Hello from Acme!',
  })
  @ValidateIf((o: SendMessageDto) => !isMedia(o))
  @IsString({ message: 'text is required for text messages' })
  @MinLength(1, { message: 'text must not be empty' })
  @MaxLength(4096)
  text?: string;

  @ApiPropertyOptional({
    type: MediaInputDto,
    description: 'Required for image, video, audio and document messages',
  })
  @ValidateIf((o: SendMessageDto) => isMedia(o) || o.media !== undefined)
  @IsDefined({ message: 'media is required for image, video, audio and document messages' })
  @ValidateNested()
  @Type(() => MediaInputDto)
  media?: MediaInputDto;

  @ApiPropertyOptional({
    description: 'Caption of image, video or document',
    example: 'Your invoice',
  })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  caption?: string;

  @ApiPropertyOptional({
    description: 'File name shown for documents: no path separators or control characters',
    example: 'invoice-42.pdf',
  })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(255)
  // eslint-disable-next-line no-control-regex -- control characters are what it refuses
  @Matches(/^[^/\\\x00-\x1f\x7f]+$/, {
    message: 'fileName must be a file name without path separators or control characters',
  })
  fileName?: string;

  @ApiPropertyOptional({
    description: 'Id of one of our stored messages to quote',
    example: '665f1c2b1e6a3e4f7e9d0e0d',
  })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  replyTo?: string;

  @ApiPropertyOptional({
    description: 'JIDs or phone numbers to mention',
    example: ['201001234567'],
    type: [String],
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @Matches(new RegExp(`^(?:${TO_PATTERN.source})$`), {
    each: true,
    message: 'each mention must be a phone number or JID',
  })
  mentions?: string[];
}
