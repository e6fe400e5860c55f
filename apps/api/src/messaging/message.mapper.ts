import type { ChatRecord } from './chats.repository';
import type { ChatResponseDto } from './dto/chat-response.dto';
import type { MessageResponseDto } from './dto/message-response.dto';
import type { MessageRecord } from './message.types';

const INTERNAL_FIELDS = new Set([
  '_id',
  'organizationId',
  'sessionId',
  'nextAttemptAt',
  'claimedBy',
  'idempotencyKey',
  'mediaRef',
  'waAddress',
  'readReceiptPending',
  'statusEffectsAt',
  'sessionCreatedAt',
  'sessionLoggedOutAt',
  'updatedAt',
  '__v',
]);

export function toMessageDto(m: MessageRecord): MessageResponseDto {
  const dto: Record<string, unknown> = { id: m._id };
  for (const [key, value] of Object.entries(m)) {
    if (!INTERNAL_FIELDS.has(key) && value !== undefined && value !== null) dto[key] = value;
  }
  if (m.media) {
    const { storageKey: _key, downloadAttempts: _attempts, ...media } = m.media;
    dto.media = media;
  }
  return dto as unknown as MessageResponseDto;
}

export function toChatDto(c: ChatRecord): ChatResponseDto {
  return {
    sessionName: c.sessionName,
    chatJid: c.chatJid,
    lastMessageAt: c.lastMessageAt,
    lastMessage: c.lastMessage && withoutNulls(c.lastMessage),
    unreadCount: c.unreadCount,
    messageCount: c.messageCount,
  };
}

/**
 * A snapshot field left undefined (an image without caption has no preview) is stored as null
 * (lastMessage is a Mixed path); the DTO declares such fields optional, never null.
 */
function withoutNulls<T extends object>(value: T): T {
  return Object.fromEntries(
    Object.entries(value).filter(([, field]) => field !== null && field !== undefined),
  ) as T;
}
