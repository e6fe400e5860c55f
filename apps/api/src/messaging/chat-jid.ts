import { normalizePhone, toJid } from '@app/common';

/** A phone number, or any JID (chats include groups, LIDs, broadcasts and channels). */
export const CHAT_PATTERN = /^(\+?\d{10,15}|[\w.:-]+@[\w.]+)$/;
export const CHAT_PATTERN_MESSAGE =
  'chat must be a phone number of 10-15 digits (optional +) or a JID such as 120363000000000001@g.us';

/** The stored chat JID a `chat` parameter names: a JID as is (normalized), a phone as its JID. */
export function toChatJid(chat: string): string {
  if (chat.includes('@')) return toJid(chat);
  const phone = normalizePhone(chat);
  return phone ? toJid(phone) : chat;
}
