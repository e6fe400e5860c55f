import {
  getContentType,
  normalizeMessageContent,
  proto,
  type WAMessage,
} from '@whiskeysockets/baileys';
import type { InboundMedia, InboundMessage, InboundMessageType } from '../engine/inbound-message';
import { resolveJid } from './baileys-jids';
import { toMediaRef } from './media-ref';

export interface NormalizeContext {
  isHistory: boolean;
  /** Our own account, for `fromMe` messages. */
  me?: { jid: string; lid?: string };
}

type Content = proto.IMessage;
type Body = Pick<
  InboundMessage,
  | 'type'
  | 'text'
  | 'caption'
  | 'media'
  | 'location'
  | 'contact'
  | 'reaction'
  | 'poll'
  | 'editedText'
  | 'targetId'
>;

const toNumber = (v: unknown): number | undefined => {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'number') return v;
  const n =
    typeof (v as { toNumber?: () => number }).toNumber === 'function'
      ? (v as { toNumber: () => number }).toNumber()
      : Number(v);
  return Number.isFinite(n) ? n : undefined;
};

function mediaOf(
  msg: WAMessage,
  kind: string,
  m: proto.Message.IImageMessage &
    proto.Message.IDocumentMessage &
    proto.Message.IAudioMessage &
    proto.Message.IVideoMessage,
): InboundMedia {
  const size = toNumber(m.fileLength);
  const seconds = toNumber(m.seconds);
  return {
    mimetype: m.mimetype ?? 'application/octet-stream',
    ...(m.fileName ? { fileName: m.fileName } : {}),
    ...(size !== undefined ? { size } : {}),
    ...(seconds ? { seconds } : {}),
    ref: toMediaRef(msg, kind, m),
  };
}

function textOf(content: Content | null | undefined): string | undefined {
  const inner = normalizeMessageContent(content);
  return (
    inner?.conversation ??
    inner?.extendedTextMessage?.text ??
    inner?.imageMessage?.caption ??
    inner?.videoMessage?.caption ??
    inner?.documentMessage?.caption ??
    undefined
  );
}

/** Content → our body; undefined for messages that carry nothing for users (key shares, settings…). */
function bodyOf(msg: WAMessage, content: Content, kind: keyof proto.IMessage): Body | undefined {
  switch (kind) {
    case 'conversation':
      return { type: 'text', text: content.conversation ?? '' };
    case 'extendedTextMessage':
      return { type: 'text', text: content.extendedTextMessage?.text ?? '' };
    case 'imageMessage':
    case 'videoMessage':
    case 'documentMessage': {
      const m = content[kind]!;
      const type = kind.replace('Message', '') as InboundMessageType;
      return {
        type,
        ...(m.caption ? { caption: m.caption } : {}),
        media: mediaOf(msg, kind, m as never),
      };
    }
    case 'audioMessage':
      return {
        type: content.audioMessage?.ptt ? 'voice' : 'audio',
        media: mediaOf(msg, kind, content.audioMessage as never),
      };
    case 'stickerMessage':
      return { type: 'sticker', media: mediaOf(msg, kind, content.stickerMessage as never) };
    case 'locationMessage':
    case 'liveLocationMessage': {
      const loc = content[kind]!;
      const name = (loc as proto.Message.ILocationMessage).name ?? undefined;
      return {
        type: 'location',
        location: {
          lat: loc.degreesLatitude ?? 0,
          lng: loc.degreesLongitude ?? 0,
          ...(name ? { name } : {}),
        },
      };
    }
    case 'contactMessage':
      return {
        type: 'contact',
        contact: {
          displayName: content.contactMessage?.displayName ?? '',
          vcard: content.contactMessage?.vcard ?? '',
        },
      };
    case 'contactsArrayMessage': {
      const arr = content.contactsArrayMessage;
      const vcard = (arr?.contacts ?? []).map((c) => c.vcard ?? '').join('\n');
      return {
        type: 'contact',
        contact: { displayName: arr?.displayName ?? arr?.contacts?.[0]?.displayName ?? '', vcard },
      };
    }
    case 'reactionMessage':
      return {
        type: 'reaction',
        reaction: {
          emoji: content.reactionMessage?.text ?? '',
          targetId: content.reactionMessage?.key?.id ?? '',
        },
      };
    case 'pollCreationMessage':
    case 'pollCreationMessageV2':
    case 'pollCreationMessageV3': {
      const poll = content[kind]!;
      return {
        type: 'poll',
        poll: {
          name: poll.name ?? '',
          options: (poll.options ?? []).map((o) => o.optionName ?? ''),
        },
      };
    }
    case 'protocolMessage': {
      const p = content.protocolMessage!;
      const targetId = p.key?.id ?? '';
      if (p.type === proto.Message.ProtocolMessage.Type.REVOKE) return { type: 'revoke', targetId };
      if (p.type === proto.Message.ProtocolMessage.Type.MESSAGE_EDIT)
        return { type: 'edit', targetId, editedText: textOf(p.editedMessage) ?? '' };
      return undefined;
    }
    case 'senderKeyDistributionMessage':
    case 'messageContextInfo':
      return undefined;
    default:
      return { type: 'unknown' };
  }
}

function quotedIdOf(content: Content, kind: keyof proto.IMessage): string | undefined {
  const inner = content[kind] as { contextInfo?: proto.IContextInfo | null } | null | undefined;
  return (typeof inner === 'object' && inner?.contextInfo?.stanzaId) || undefined;
}

/**
 * WAMessage (as Baileys emits it) → InboundMessage. Pure.
 * Returns undefined for messages with nothing to show (protocol/key-distribution/status broadcasts).
 */
export function normalizeMessage(
  msg: WAMessage,
  ctx: NormalizeContext,
): InboundMessage | undefined {
  const key = msg.key;
  const remoteJid = key?.remoteJid;
  if (!key?.id || !remoteJid || remoteJid === 'status@broadcast') return undefined;
  const content = normalizeMessageContent(msg.message);
  const kind = getContentType(content ?? undefined);
  if (!content || !kind) return undefined;
  const body = bodyOf(msg, content, kind);
  if (!body) return undefined;

  const legacyKey = key as typeof key & {
    senderPn?: string;
    participantPn?: string;
    senderLid?: string;
    participantLid?: string;
  };
  const isGroup = remoteJid.endsWith('@g.us');
  const chat = isGroup
    ? { jid: remoteJid }
    : resolveJid(remoteJid, key.remoteJidAlt, legacyKey.senderPn, legacyKey.senderLid)!;
  const participant = isGroup
    ? resolveJid(
        key.participant,
        key.participantAlt,
        legacyKey.participantPn,
        legacyKey.participantLid,
      )
    : undefined;
  const fromMe = !!key.fromMe;
  const sender = fromMe ? (resolveJid(ctx.me?.jid, ctx.me?.lid) ?? chat) : (participant ?? chat);

  const quotedId = quotedIdOf(content, kind);
  const seconds = toNumber(msg.messageTimestamp);
  return {
    waMessageId: key.id,
    chatJid: chat.jid,
    senderJid: sender.jid,
    ...('phone' in sender && sender.phone ? { senderPhone: sender.phone } : {}),
    ...('lid' in sender && sender.lid ? { senderLid: sender.lid } : {}),
    ...(participant ? { participant: participant.jid } : {}),
    fromMe,
    ...(msg.pushName && !fromMe ? { pushName: msg.pushName } : {}),
    // 0 is protobuf's default: no time given, not 1970.
    timestamp: seconds ? new Date(seconds * 1000) : new Date(),
    ...body,
    ...(quotedId ? { quotedId } : {}),
    isHistory: ctx.isHistory,
    ...(fromMe
      ? {}
      : { address: { remoteJid, ...(key.participant ? { participant: key.participant } : {}) } }),
  };
}
