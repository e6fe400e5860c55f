import type {
  AnyMessageContent,
  MiscMessageGenerationOptions,
  proto,
  WAMessage,
} from '@whiskeysockets/baileys';
import type { OutboundContent, QuotedMessage } from '../engine/outbound-content';

/**
 * The quoted message's content as WhatsApp carries it inside the reply (contextInfo.quotedMessage):
 * the recipient's app shows this, it does not look the message up. Media are described by what the
 * gateway keeps (type, mimetype, caption, file name, length), without thumbnail or download keys.
 */
export function quotedContent(q: QuotedMessage): proto.IMessage {
  const caption = q.caption ? { caption: q.caption } : {};
  const mimetype = q.media?.mimetype ? { mimetype: q.media.mimetype } : {};
  const seconds = q.media?.seconds ? { seconds: q.media.seconds } : {};
  switch (q.type) {
    case 'image':
      return { imageMessage: { ...mimetype, ...caption } };
    case 'video':
      return { videoMessage: { ...mimetype, ...seconds, ...caption } };
    case 'audio':
    case 'voice':
      return { audioMessage: { ...mimetype, ...seconds, ptt: q.type === 'voice' } };
    case 'document':
      return {
        documentMessage: {
          ...mimetype,
          ...(q.media?.fileName ? { fileName: q.media.fileName } : {}),
          ...caption,
        },
      };
    case 'sticker':
      return { stickerMessage: { ...mimetype } };
    case 'location':
      if (q.location)
        return {
          locationMessage: {
            degreesLatitude: q.location.lat,
            degreesLongitude: q.location.lng,
            ...(q.location.name ? { name: q.location.name } : {}),
          },
        };
      break;
    case 'contact':
      if (q.contact)
        return {
          contactMessage: { displayName: q.contact.displayName, vcard: q.contact.vcard },
        };
      break;
    case 'poll':
      if (q.poll)
        return {
          pollCreationMessage: {
            name: q.poll.name,
            options: q.poll.options.map((optionName) => ({ optionName })),
            selectableOptionsCount: 0,
          },
        };
      break;
  }
  return { conversation: q.text ?? q.caption ?? '' };
}

/**
 * The quoted message as Baileys takes it (`options.quoted`). Baileys writes contextInfo.participant
 * from it: our own account for our messages, else the key's participant, else the chat (so a
 * group's JID when the author is left out).
 */
export function toBaileysQuoted(q: QuotedMessage): WAMessage {
  return {
    key: {
      id: q.waMessageId,
      remoteJid: q.chatJid,
      fromMe: q.fromMe,
      ...(!q.fromMe && q.author ? { participant: q.author } : {}),
    },
    message: quotedContent(q),
  };
}

/** Our OutboundContent → Baileys sendMessage(content, options). */
export function toBaileysContent(content: OutboundContent): {
  content: AnyMessageContent;
  options: MiscMessageGenerationOptions;
} {
  const mentions = content.mentions?.length ? { mentions: content.mentions } : {};
  const options: MiscMessageGenerationOptions = {};
  if (content.replyTo) options.quoted = toBaileysQuoted(content.replyTo);
  switch (content.type) {
    case 'text':
      return { content: { text: content.text, ...mentions }, options };
    case 'image':
      return {
        content: {
          image: content.buffer,
          mimetype: content.mimetype,
          caption: content.caption,
          ...mentions,
        },
        options,
      };
    case 'video':
      return {
        content: {
          video: content.buffer,
          mimetype: content.mimetype,
          caption: content.caption,
          ...mentions,
        },
        options,
      };
    case 'audio':
      return {
        content: {
          audio: content.buffer,
          mimetype: content.mimetype,
          ptt: content.voice ?? false,
          seconds: content.seconds,
          ...mentions,
        },
        options,
      };
    case 'document':
      return {
        content: {
          document: content.buffer,
          mimetype: content.mimetype,
          fileName: content.fileName ?? 'file',
          caption: content.caption,
          ...mentions,
        },
        options,
      };
  }
}
