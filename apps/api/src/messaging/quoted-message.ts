import { isGroupJid } from '@app/common';
import type { QuotedMessage } from '@app/whatsapp';
import type { MessageRecord } from './message.types';

/**
 * A stored message as a reply quotes it. WhatsApp carries the quote inside the reply: the author
 * (contextInfo.participant) and the content the recipient's app shows. The author is who wrote it
 * as WhatsApp addressed them (a group member, maybe by LID; the peer of a 1:1 chat); our own
 * messages leave it to the engine, which quotes its own account.
 */
export function quotedMessageOf(m: MessageRecord): QuotedMessage {
  const author = m.fromMe
    ? undefined
    : isGroupJid(m.chatJid)
      ? (m.waAddress?.participant ?? m.participant ?? m.senderJid)
      : (m.waAddress?.remoteJid ?? m.senderJid ?? m.chatJid);
  const text = m.editedText ?? m.text;
  return {
    waMessageId: m.waMessageId!,
    chatJid: m.chatJid,
    fromMe: m.fromMe,
    ...(author ? { author } : {}),
    type: m.type,
    ...(text !== undefined ? { text } : {}),
    ...(m.caption ? { caption: m.caption } : {}),
    ...(m.media
      ? {
          media: {
            mimetype: m.media.mimetype,
            ...(m.media.fileName ? { fileName: m.media.fileName } : {}),
            ...(m.media.seconds ? { seconds: m.media.seconds } : {}),
          },
        }
      : {}),
    ...(m.location ? { location: m.location } : {}),
    ...(m.contact ? { contact: m.contact } : {}),
    ...(m.poll ? { poll: m.poll } : {}),
  };
}
