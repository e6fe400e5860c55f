import type {
  AnyMessageContent,
  MiscMessageGenerationOptions,
  WAMessage,
} from '@whiskeysockets/baileys';
import type { OutboundContent } from '../engine/outbound-content';

/** Our OutboundContent → Baileys sendMessage(content, options). */
export function toBaileysContent(content: OutboundContent): {
  content: AnyMessageContent;
  options: MiscMessageGenerationOptions;
} {
  const mentions = content.mentions?.length ? { mentions: content.mentions } : {};
  const options: MiscMessageGenerationOptions = {};
  if (content.replyTo) {
    // Baileys only needs the key to build the quote; the quoted body is optional.
    options.quoted = {
      key: {
        id: content.replyTo.waMessageId,
        remoteJid: content.replyTo.chatJid,
        fromMe: content.replyTo.fromMe,
      },
      message: { conversation: '' },
    } as WAMessage;
  }
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
