import type { proto } from '@whiskeysockets/baileys';
import type { EmulatorMediaType } from './media-crypto';

export type MediaContent =
  | proto.Message.IImageMessage
  | proto.Message.IVideoMessage
  | proto.Message.IAudioMessage
  | proto.Message.IDocumentMessage
  | proto.Message.IStickerMessage;

/** The media sub-message (and its HKDF type), also inside document-with-caption / view-once / ephemeral wrappers. */
export function mediaContentOf(
  message: proto.IMessage,
): { type: EmulatorMediaType; content: MediaContent } | undefined {
  const inner =
    message.documentWithCaptionMessage?.message ??
    message.viewOnceMessage?.message ??
    message.viewOnceMessageV2?.message ??
    message.ephemeralMessage?.message;
  if (inner) return mediaContentOf(inner);
  if (message.imageMessage) return { type: 'image', content: message.imageMessage };
  if (message.videoMessage) return { type: 'video', content: message.videoMessage };
  if (message.ptvMessage) return { type: 'video', content: message.ptvMessage };
  if (message.audioMessage) return { type: 'audio', content: message.audioMessage };
  if (message.documentMessage) return { type: 'document', content: message.documentMessage };
  if (message.stickerMessage) return { type: 'sticker', content: message.stickerMessage };
  return undefined;
}

/** The `mediatype` attribute of an `<enc>` carrying this message, if it is media. */
export function mediaTypeOf(message: proto.IMessage): string | undefined {
  if (message.imageMessage) return 'image';
  if (message.videoMessage) return 'video';
  if (message.audioMessage) return message.audioMessage.ptt ? 'ptt' : 'audio';
  if (message.documentMessage) return 'document';
  if (message.stickerMessage) return 'sticker';
  return undefined;
}
