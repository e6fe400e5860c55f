import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBase64,
  IsBoolean,
  IsDate,
  IsIn,
  IsInt,
  IsLatitude,
  IsLongitude,
  IsNotEmpty,
  IsNumber,
  IsString,
  Matches,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { PHONE_PATTERN, toIsoInstant, IsOmittable } from '@app/common';
import { MESSAGE_TYPES } from '../messaging/message.types';

const PHONE_OR_JID = /^(\+?\d{10,15}|[\d-]+(:\d+)?@(s\.whatsapp\.net|lid))$/;
/** Every stored type but `unknown`, which a phone cannot send on purpose. */
export const SANDBOX_INBOUND_TYPES = MESSAGE_TYPES.filter(
  (type): type is Exclude<(typeof MESSAGE_TYPES)[number], 'unknown'> => type !== 'unknown',
);
export const SANDBOX_DISCONNECT_REASONS = [
  'connectionLost',
  'loggedOut',
  'restartRequired',
  'connectionReplaced',
  'forbidden',
  'multideviceMismatch',
  'badSession',
  'unavailableService',
] as const;
export const SANDBOX_RECEIPT_STATUSES = ['delivered', 'read', 'played'] as const;

export class SandboxScanDto {
  @ApiProperty({ description: 'Phone number of the simulated account', example: '+201001234567' })
  @Matches(PHONE_PATTERN, {
    message: 'phone must be 10-15 digits, the first not 0, with an optional leading +',
  })
  phone: string;

  @ApiPropertyOptional({ example: 'Acme Sales' })
  @IsOmittable()
  @IsString()
  @MaxLength(64)
  pushName?: string;
}

export class SandboxPairingCodeDto {
  @ApiProperty({
    description: 'The code returned by POST /whatsapp/sessions/:name/pairing-code',
    example: 'ABCD1234',
  })
  @IsString()
  @MinLength(8)
  @MaxLength(9)
  code: string;
}

export class SandboxMediaDto {
  @ApiProperty({
    description: 'Media bytes, base64 (the example is a 1×1 PNG)',
    example:
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  })
  @IsBase64()
  base64: string;

  @ApiProperty({ example: 'image/png' })
  @IsString()
  @Matches(/^[\w.+-]+\/[\w.+-]+(\s*;\s*[\w.+-]+=[\w.+-]+)*$/, {
    message: 'media.mimetype must be a mimetype like image/png',
  })
  mimetype: string;

  @ApiPropertyOptional({ example: 'photo.png' })
  @IsOmittable()
  @IsString()
  @MaxLength(255)
  fileName?: string;

  @ApiPropertyOptional({ description: 'Duration of audio/video', type: 'integer', example: 7 })
  @IsOmittable()
  @IsInt()
  @Min(0)
  seconds?: number;
}

export class SandboxLocationDto {
  // IsLatitude/IsLongitude alone take a numeric string too, which would be stored as a string.
  @ApiProperty({ example: 30.0444 }) @IsNumber() @IsLatitude() lat: number;
  @ApiProperty({ example: 31.2357 }) @IsNumber() @IsLongitude() lng: number;
  @ApiPropertyOptional({ example: 'Cairo' })
  @IsOmittable()
  @IsString()
  @MaxLength(200)
  name?: string;
}

export class SandboxContactCardDto {
  @ApiProperty({ example: 'Ali Hassan' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  displayName: string;
  @ApiProperty({ example: 'BEGIN:VCARD\nVERSION:3.0\nFN:Ali Hassan\nTEL:+201001234567\nEND:VCARD' })
  @IsString()
  @MaxLength(10_000)
  vcard: string;
}

export class SandboxReactionDto {
  @ApiProperty({ example: '👍' }) @IsString() @MaxLength(16) emoji: string;
  @ApiProperty({ description: 'WhatsApp id of the message reacted to', example: '3EB0AAAA' })
  @IsString()
  @MaxLength(128)
  targetId: string;
}

export class SandboxPollDto {
  @ApiProperty({ example: 'Lunch?' }) @IsString() @MinLength(1) @MaxLength(255) name: string;
  @ApiProperty({ example: ['Yes', 'No'], type: [String] })
  @IsArray()
  @ArrayMinSize(2)
  @ArrayMaxSize(12)
  @IsString({ each: true })
  options: string[];
}

/** What "the other side" sends to the simulated account. */
export class SandboxInboundDto {
  @ApiProperty({
    description: 'Sender phone (optional +) or JID (…@s.whatsapp.net, …@lid)',
    example: '+201112223334',
  })
  @Matches(PHONE_OR_JID, {
    message:
      'from must be a phone number of 10-15 digits (optional +) or a …@s.whatsapp.net / …@lid JID',
  })
  from: string;

  @ApiPropertyOptional({ example: 'Ali' })
  @IsOmittable()
  @IsString()
  @MaxLength(64)
  pushName?: string;

  @ApiPropertyOptional({
    description: 'Group JID (…@g.us) when the message is written in a group',
    example: '120363021234567890@g.us',
  })
  @IsOmittable()
  @Matches(/^[\d-]+@g\.us$/, { message: 'chatJid must be a group JID (…@g.us)' })
  chatJid?: string;

  @ApiPropertyOptional({
    description: 'Typed on the linked phone itself (stored as outgoing)',
    example: false,
  })
  @IsOmittable()
  @IsBoolean()
  fromMe?: boolean;

  @ApiPropertyOptional({
    description:
      "Arrives by WhatsApp's history sync (an earlier message the phone hands a newly linked device), not live: stored, but neither unread nor announced as an event",
    example: false,
  })
  @IsOmittable()
  @IsBoolean()
  history?: boolean;

  @ApiPropertyOptional({
    enum: SANDBOX_INBOUND_TYPES,
    enumName: 'SandboxInboundType',
    description: 'Default: text, or document when media is given',
    example: 'text',
  })
  @IsOmittable()
  @IsIn(SANDBOX_INBOUND_TYPES, {
    message: `type must be one of: ${SANDBOX_INBOUND_TYPES.join(', ')}`,
  })
  type?: (typeof SANDBOX_INBOUND_TYPES)[number];

  @ApiPropertyOptional({ example: 'Hi, is my order ready?' })
  @IsOmittable()
  @IsString()
  // WhatsApp delivers no empty text message: the simulation does not either.
  @MinLength(1, { message: 'text must not be empty' })
  @MaxLength(65_536)
  text?: string;
  @ApiPropertyOptional({ example: 'Look at this' })
  @IsOmittable()
  @IsString()
  @MaxLength(1024)
  caption?: string;
  @ApiPropertyOptional({ description: 'WhatsApp id of a quoted message', example: '3EB0AAAA' })
  @IsOmittable()
  @IsString()
  @MaxLength(128)
  quotedId?: string;
  @ApiPropertyOptional({ type: SandboxMediaDto })
  @IsOmittable()
  @ValidateNested()
  @Type(() => SandboxMediaDto)
  media?: SandboxMediaDto;
  @ApiPropertyOptional({ type: SandboxLocationDto })
  @IsOmittable()
  @ValidateNested()
  @Type(() => SandboxLocationDto)
  location?: SandboxLocationDto;
  @ApiPropertyOptional({ type: SandboxContactCardDto })
  @IsOmittable()
  @ValidateNested()
  @Type(() => SandboxContactCardDto)
  contact?: SandboxContactCardDto;
  @ApiPropertyOptional({ type: SandboxReactionDto })
  @IsOmittable()
  @ValidateNested()
  @Type(() => SandboxReactionDto)
  reaction?: SandboxReactionDto;
  @ApiPropertyOptional({ type: SandboxPollDto })
  @IsOmittable()
  @ValidateNested()
  @Type(() => SandboxPollDto)
  poll?: SandboxPollDto;
  @ApiPropertyOptional({
    description: 'revoke/edit: WhatsApp id of the target message',
    example: '3EB0AAAA',
  })
  @IsOmittable()
  @IsString()
  @MaxLength(128)
  targetId?: string;
  @ApiPropertyOptional({ description: 'edit: the new text', example: 'Hello again' })
  @IsOmittable()
  @IsString()
  @MaxLength(65_536)
  editedText?: string;
  @ApiPropertyOptional({
    description: 'Force a WhatsApp id (to simulate a redelivered event)',
    example: '3EB0F00D',
  })
  @IsOmittable()
  @IsString()
  @MaxLength(128)
  waMessageId?: string;

  @ApiPropertyOptional({
    description:
      'When WhatsApp says the message was sent (default: now, in whole seconds as WhatsApp stamps), e.g. to replay old or out-of-order messages',
    example: '2026-11-29T10:00:00Z',
  })
  @IsOmittable()
  @Transform(toIsoInstant)
  @IsDate({ message: 'timestamp must be an ISO 8601 date' })
  timestamp?: Date;
}

export class SandboxReceiptDto {
  @ApiProperty({
    description: 'Our message id, as returned by POST /whatsapp/messages/send',
    example: '665f1c2b1e6a3e4f7e9d0e0d',
  })
  @IsString()
  @MaxLength(64)
  messageId: string;

  @ApiProperty({
    enum: SANDBOX_RECEIPT_STATUSES,
    enumName: 'SandboxReceiptStatus',
    example: 'read',
  })
  @IsIn(SANDBOX_RECEIPT_STATUSES, { message: 'status must be one of: delivered, read, played' })
  status: (typeof SANDBOX_RECEIPT_STATUSES)[number];
}

export class SandboxPhoneReadDto {
  @ApiProperty({
    description:
      'Received messages of this session the phone reads (our ids, as GET /whatsapp/messages lists them), of one chat or several',
    example: ['665f1c2b1e6a3e4f7e9d0e0d'],
    type: [String],
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @MaxLength(64, { each: true })
  messageIds: string[];
}

export class SandboxDisconnectDto {
  @ApiProperty({
    enum: SANDBOX_DISCONNECT_REASONS,
    enumName: 'SandboxDisconnectReason',
    example: 'connectionLost',
  })
  @IsIn(SANDBOX_DISCONNECT_REASONS, {
    message: `reason must be one of: ${SANDBOX_DISCONNECT_REASONS.join(', ')}`,
  })
  reason: (typeof SANDBOX_DISCONNECT_REASONS)[number];
}

export class SandboxContactDto {
  @ApiProperty({ description: 'Phone number of the contact', example: '+201112223334' })
  @Matches(PHONE_PATTERN, {
    message: 'phone must be 10-15 digits, the first not 0, with an optional leading +',
  })
  phone: string;

  @ApiPropertyOptional({ example: 'Ali' })
  @IsOmittable()
  @IsString()
  @MaxLength(64)
  pushName?: string;
  @ApiPropertyOptional({ description: 'Address-book name on the phone', example: 'Ali (supplier)' })
  @IsOmittable()
  @IsString()
  @MaxLength(128)
  name?: string;
  @ApiPropertyOptional({ example: '123456789012345@lid' })
  @IsOmittable()
  @Matches(/^\d+@lid$/, { message: 'lid must look like 123…@lid' })
  lid?: string;
}

export class SandboxLidMappingDto {
  @ApiProperty({ example: '+201112223334' })
  @Matches(PHONE_PATTERN, {
    message: 'phone must be 10-15 digits, the first not 0, with an optional leading +',
  })
  phone: string;
  @ApiProperty({ example: '123456789012345@lid' })
  @Matches(/^\d+@lid$/, { message: 'lid must look like 123…@lid' })
  lid: string;
}

export class SandboxGroupDto {
  @ApiProperty({ description: 'Group JID', example: '120363021234567890@g.us' })
  @Matches(/^[\d-]+@g\.us$/, { message: 'chatJid must be a group JID (…@g.us)' })
  chatJid: string;
  @ApiProperty({ description: 'Group subject (its name)', example: 'Suppliers' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  subject: string;
}

export class SandboxInboundResponseDto {
  @ApiProperty({
    description: 'WhatsApp id of the simulated message',
    example: '3EB0C767D097B7C7C030',
  })
  waMessageId: string;
  @ApiProperty({
    description:
      'The chat the message is stored under: the phone JID for a LID sender whose phone number WhatsApp has revealed',
    example: '201112223334@s.whatsapp.net',
  })
  chatJid: string;
}

export class SandboxAcceptedDto {
  @ApiProperty({ example: true }) ok: boolean;
}
