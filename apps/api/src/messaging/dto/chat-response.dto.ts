import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class ChatLastMessageDto {
  @ApiProperty({ example: '665f1c2b1e6a3e4f7e9d0e0d' }) id: string;
  @ApiProperty({ enum: ['in', 'out'], enumName: 'MessageDirection', example: 'in' })
  direction: string;
  @ApiProperty({ example: 'text' }) type: string;
  @ApiPropertyOptional({ example: 'Hi, is my order ready?' }) preview?: string;
  @ApiProperty({ example: '2026-01-01T10:00:00.000Z' }) timestamp: Date;
}

export class ChatResponseDto {
  @ApiProperty({ example: 'sales-1' }) sessionName: string;
  @ApiProperty({ example: '201001234567@s.whatsapp.net' }) chatJid: string;
  @ApiProperty({ example: '2026-01-01T10:00:00.000Z' }) lastMessageAt: Date;
  @ApiPropertyOptional({ type: ChatLastMessageDto }) lastMessage?: ChatLastMessageDto;
  @ApiProperty({
    description: 'Inbound messages since our last outbound message in this chat',
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
