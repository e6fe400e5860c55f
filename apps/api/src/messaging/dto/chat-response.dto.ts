import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Matches } from 'class-validator';
import { SESSION_NAME_MESSAGE, SESSION_NAME_PATTERN } from '../../whatsapp-session/dto/session.dto';
import { CHAT_PATTERN, CHAT_PATTERN_MESSAGE } from '../chat-jid';

export class ChatLastMessageDto {
  @ApiProperty({ example: '665f1c2b1e6a3e4f7e9d0e0d' }) id: string;
  @ApiProperty({ enum: ['in', 'out'], enumName: 'MessageDirection', example: 'in' })
  direction: string;
  @ApiProperty({ example: 'text' }) type: string;
  @ApiPropertyOptional({
    description:
      'Start of its text (as edited), caption or file name, or the name of a poll, place or contact card (120 characters at most); absent once deleted',
    example: 'Hi, is my order ready?',
  })
  preview?: string;
  @ApiPropertyOptional({ description: 'The sender deleted it for everyone', example: true })
  revoked?: boolean;
  @ApiPropertyOptional({
    description: 'Group chats: the participant who sent it',
    example: '201001234567@s.whatsapp.net',
  })
  senderJid?: string;
  @ApiPropertyOptional({ description: "Group chats: the sender's WhatsApp name", example: 'Ali' })
  pushName?: string;
  @ApiProperty({ example: '2026-01-01T10:00:00.000Z' }) timestamp: Date;
}

export class ChatResponseDto {
  @ApiProperty({ example: 'sales-1' }) sessionName: string;
  @ApiProperty({ example: '201001234567@s.whatsapp.net' }) chatJid: string;
  @ApiProperty({ example: '2026-01-01T10:00:00.000Z' }) lastMessageAt: Date;
  @ApiPropertyOptional({ type: ChatLastMessageDto }) lastMessage?: ChatLastMessageDto;
  @ApiProperty({
    description:
      'Received messages not read yet: since our last outbound message in this chat that went out (sent or beyond: a pending one clears nothing until it is sent, a failed one never), or since it was marked read (POST /whatsapp/chats/read)',
    example: 2,
  })
  unreadCount: number;
  @ApiProperty({ example: 17 }) messageCount: number;
}

export class ChatPageDto {
  @ApiProperty({ type: [ChatResponseDto] }) items: ChatResponseDto[];
  @ApiProperty({ example: 3 }) total: number;
  @ApiProperty({ example: 1 }) page: number;
  @ApiProperty({ example: 20 }) limit: number;
}

export class MarkChatReadDto {
  @ApiProperty({ example: 'sales-1' })
  @Matches(SESSION_NAME_PATTERN, {
    message: SESSION_NAME_MESSAGE,
  })
  sessionName: string;

  @ApiProperty({ description: 'Chat JID or phone number', example: '201001234567@s.whatsapp.net' })
  @Matches(CHAT_PATTERN, { message: CHAT_PATTERN_MESSAGE })
  chat: string;
}

export class ChatReadResultDto {
  @ApiProperty({
    description:
      'Received messages this call set to status read, their read receipts queued for WhatsApp (0 when none were unread)',
    example: 3,
  })
  marked: number;
  @ApiProperty({ type: ChatResponseDto }) chat: ChatResponseDto;
}
