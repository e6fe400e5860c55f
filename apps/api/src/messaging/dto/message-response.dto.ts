import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { MESSAGE_DIRECTIONS, MESSAGE_STATUSES, MESSAGE_TYPES } from '../message.types';

export { MESSAGE_TYPES };

export class MessageMediaDto {
  @ApiProperty({ example: 'image/jpeg' }) mimetype: string;
  @ApiPropertyOptional({ example: 'photo.jpg' }) fileName?: string;
  @ApiPropertyOptional({ description: 'Bytes', example: 48213 }) size?: number;
  @ApiPropertyOptional({ description: 'Duration of audio/video', example: 12 }) seconds?: number;
  @ApiProperty({
    enum: ['pending', 'stored', 'failed', 'discarded'],
    enumName: 'MediaDownloadStatus',
    description:
      'stored = downloadable at /messages/:id/media; discarded = the bytes of a send that failed were deleted (410 there)',
    example: 'stored',
  })
  downloadStatus: string;
  @ApiPropertyOptional({ example: 'Media download failed: 410 Gone' }) downloadError?: string;
}

export class MessageResponseDto {
  @ApiProperty({ description: 'Our message id', example: '665f1c2b1e6a3e4f7e9d0e0d' }) id: string;
  @ApiProperty({ example: 'sales-1' }) sessionName: string;
  @ApiProperty({ enum: MESSAGE_DIRECTIONS, enumName: 'MessageDirection', example: 'out' })
  direction: string;
  @ApiProperty({ description: 'Chat JID', example: '201001234567@s.whatsapp.net' }) chatJid: string;
  @ApiPropertyOptional({ example: '201001234567@s.whatsapp.net' }) senderJid?: string;
  @ApiPropertyOptional({ example: '201001234567' }) senderPhone?: string;
  @ApiPropertyOptional({ example: '123456789012345@lid' }) senderLid?: string;
  @ApiPropertyOptional({
    description: 'Group participant who wrote',
    example: '201001234567@s.whatsapp.net',
  })
  participant?: string;
  @ApiPropertyOptional({ example: 'Mona' }) pushName?: string;
  @ApiProperty({ example: true }) fromMe: boolean;
  @ApiPropertyOptional({
    description:
      "true when it came by WhatsApp's history sync (an earlier message handed over when the session was linked), not live: never unread, not announced as an event",
    example: true,
  })
  history?: boolean;
  @ApiPropertyOptional({
    description: "WhatsApp's message id, once sent",
    example: '3EB0C767D097B7C7C030',
  })
  waMessageId?: string;
  @ApiProperty({ enum: MESSAGE_TYPES, enumName: 'MessageType', example: 'text' }) type: string;
  @ApiPropertyOptional({ example: 'Hello!' }) text?: string;
  @ApiPropertyOptional({ example: 'Your invoice' }) caption?: string;
  @ApiPropertyOptional({ description: 'WhatsApp id of the quoted message', example: '3EB0AAAA' })
  quotedId?: string;
  @ApiPropertyOptional({
    type: [String],
    description: 'Mentioned JIDs',
    example: ['201001234567@s.whatsapp.net'],
  })
  mentions?: string[];
  @ApiPropertyOptional({ type: MessageMediaDto }) media?: MessageMediaDto;
  @ApiPropertyOptional({ example: { lat: 30.04, lng: 31.23, name: 'Cairo' } }) location?: {
    lat: number;
    lng: number;
    name?: string;
  };
  @ApiPropertyOptional({ example: { displayName: 'Ali', vcard: 'BEGIN:VCARD…' } }) contact?: {
    displayName: string;
    vcard: string;
  };
  @ApiPropertyOptional({ example: { emoji: '👍', targetId: '3EB0AAAA' } }) reaction?: {
    emoji: string;
    targetId: string;
  };
  @ApiPropertyOptional({ example: { name: 'Lunch?', options: ['Yes', 'No'] } }) poll?: {
    name: string;
    options: string[];
  };
  @ApiPropertyOptional({
    description: 'New text after an edit (the newest one)',
    example: 'Hello again',
  })
  editedText?: string;
  @ApiPropertyOptional({
    description: 'When that edit was made (WhatsApp time)',
    example: '2026-11-29T10:05:00.000Z',
  })
  editedAt?: Date;
  @ApiPropertyOptional({
    description: 'Message a revoke/edit/reaction applies to',
    example: '3EB0AAAA',
  })
  targetId?: string;
  @ApiPropertyOptional({ description: 'Deleted for everyone by the sender', example: false })
  revoked?: boolean;
  @ApiProperty({ enum: MESSAGE_STATUSES, enumName: 'MessageStatus', example: 'delivered' })
  status: string;
  @ApiPropertyOptional({
    description: 'Why the message failed',
    example: 'Session not connected within 86400 s',
  })
  error?: string;
  @ApiPropertyOptional({
    description: 'Send attempts so far (messages sent through this API only)',
    example: 1,
  })
  attempts?: number;
  @ApiProperty({
    description:
      'Outbound sends: when the gateway accepted them (ms). Messages dated by WhatsApp (received, typed on the phone, history): their arrival, but no later than the end of the whole second WhatsApp stamped (so a reply within the same second sorts after our message, and nothing is dated in the future)',
    example: '2026-01-01T10:00:00.000Z',
  })
  timestamp: Date;
  @ApiPropertyOptional({ example: '2026-01-01T10:00:01.000Z' }) sentAt?: Date;
  @ApiPropertyOptional({
    description:
      'When the recipient received it; a read or played receipt that came without it sets it to its own time',
    example: '2026-01-01T10:00:02.000Z',
  })
  deliveredAt?: Date;
  @ApiPropertyOptional({
    description:
      'When it was read; a played receipt that came without a read one sets it to its own time',
    example: '2026-01-01T10:00:03.000Z',
  })
  readAt?: Date;
  @ApiPropertyOptional({ example: '2026-01-01T10:00:04.000Z' }) playedAt?: Date;
  @ApiPropertyOptional({ example: '2026-01-01T10:00:04.000Z' }) failedAt?: Date;
  @ApiProperty({ example: '2026-01-01T10:00:00.000Z' }) createdAt: Date;
}

export class MessagePageDto {
  @ApiProperty({ type: [MessageResponseDto] }) items: MessageResponseDto[];
  @ApiProperty({ example: 42 }) total: number;
  @ApiProperty({ example: 1 }) page: number;
  @ApiProperty({ example: 20 }) limit: number;
}
