import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';
import { PHONE_PATTERN } from '@app/common';

export const SESSION_STATUSES = [
  'connecting',
  'qr_ready',
  'connected',
  'disconnected',
  'logged_out',
  'failed',
] as const;
export const SESSION_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,32}$/;
export const SESSION_NAME_MESSAGE =
  'sessionName must be 1-32 characters of letters, digits, _ or -';

export class CreateSessionDto {
  @ApiProperty({
    description: '1-32 characters: letters, digits, _ and -; unique within the organization',
    example: 'sales-1',
  })
  @IsString()
  @Matches(SESSION_NAME_PATTERN, {
    message: SESSION_NAME_MESSAGE,
  })
  sessionName: string;
}

export class PairingCodeRequestDto {
  @ApiProperty({
    description:
      'Phone number of the WhatsApp account to link, 10-15 digits (the first not 0) with an optional +',
    example: '+201001234567',
  })
  @Matches(PHONE_PATTERN, {
    message: 'phone must be 10-15 digits, the first not 0, with an optional leading +',
  })
  phone: string;
}

export class SessionResponseDto {
  @ApiProperty({
    description: '`${organizationId}_${sessionName}`',
    example: '665f1c2b1e6a3e4f7e9d0e0b_sales-1',
  })
  sessionId: string;

  @ApiProperty({ example: 'sales-1' })
  sessionName: string;

  @ApiProperty({
    enum: SESSION_STATUSES,
    enumName: 'SessionStatus',
    example: 'connected',
    description:
      'disconnected: between reconnect attempts, or stopped (QR not scanned in time, connection replaced by another client; see lastError) until GET /qr or POST /restart; logged_out: unlinked, a new QR links it again; failed: gave up (see lastError); one banned (403) or whose link was refused (411) stays failed, also across restarts, until GET /qr or POST /restart',
  })
  status: (typeof SESSION_STATUSES)[number];

  @ApiPropertyOptional({
    description:
      'Phone number (digits) last linked: kept after a logout or a refused link (status says whether it is linked now), replaced when another number links',
    example: '201001234567',
  })
  phone?: string;

  @ApiPropertyOptional({
    description: 'WhatsApp id last linked, kept as phone is',
    example: '201001234567@s.whatsapp.net',
  })
  jid?: string;

  @ApiPropertyOptional({ example: 'Acme Sales' })
  pushName?: string;

  @ApiPropertyOptional({
    description: 'Why the session last closed or failed',
    example: 'Connection lost (408)',
  })
  lastError?: string;

  @ApiPropertyOptional({
    description: 'Last message in or out',
    example: '2026-01-01T10:00:00.000Z',
  })
  lastActivityAt?: Date;

  @ApiPropertyOptional({ example: '2026-01-01T09:00:00.000Z' })
  connectedAt?: Date;

  @ApiPropertyOptional({ example: '2026-01-01T09:00:00.000Z' })
  statusChangedAt?: Date;

  @ApiPropertyOptional({
    description: 'When the current QR code expires (status qr_ready)',
    example: '2026-01-01T09:00:20.000Z',
  })
  qrExpiresAt?: Date;

  @ApiProperty({ example: '2026-01-01T08:59:00.000Z' })
  createdAt: Date;

  @ApiProperty({ example: '2026-01-01T09:00:00.000Z' })
  updatedAt: Date;
}

export class QrResponseDto {
  @ApiProperty({
    description: 'PNG data URL of the QR code to scan with WhatsApp > Linked devices',
    example: 'data:image/png;base64,iVBORw0KGgo…',
  })
  qr: string;

  @ApiProperty({ enum: SESSION_STATUSES, enumName: 'SessionStatus', example: 'qr_ready' })
  status: string;

  @ApiProperty({ example: '2026-01-01T09:00:20.000Z' })
  expiresAt: Date;
}

export class PairingCodeResponseDto {
  @ApiProperty({
    description: 'Code to type on the phone (WhatsApp > Linked devices > Link with phone number)',
    example: 'ABCD1234',
  })
  code: string;
}
