import { SandboxInvalidInboundError } from '../errors';
import type { InboundMessage, InboundMessageType } from '../engine/inbound-message';
import { newSandboxMessageId, onlyDigits, phoneToJid } from './sandbox-ids';

/** What a test/demo says "the other side" sent. */
export interface SandboxInboundSpec {
  /** Sender: phone (digits, optional +) or a JID (…@s.whatsapp.net or …@lid). For fromMe: the chat partner. */
  from: string;
  pushName?: string;
  /** Group chat JID (…@g.us); default: the 1:1 chat with `from`. */
  chatJid?: string;
  /** Message typed on the linked phone itself. */
  fromMe?: boolean;
  /** Defaults to 'text' (or the media kind when only media is given). */
  type?: InboundMessageType;
  text?: string;
  caption?: string;
  quotedId?: string;
  media?: { data: Buffer; mimetype: string; fileName?: string; seconds?: number };
  location?: { lat: number; lng: number; name?: string };
  contact?: { displayName: string; vcard: string };
  reaction?: { emoji: string; targetId: string };
  poll?: { name: string; options: string[] };
  /** revoke / edit: the message it applies to. */
  targetId?: string;
  editedText?: string;
  isHistory?: boolean;
  waMessageId?: string;
  timestamp?: Date;
}

export interface SandboxInboundContext {
  me: { jid: string; phone: string; lid?: string };
  lidToPn: (lid: string) => string | undefined;
  storeMedia: (data: Buffer) => string;
}

const MEDIA_TYPES: InboundMessageType[] = [
  'image',
  'video',
  'audio',
  'voice',
  'document',
  'sticker',
];

/**
 * The other side of the chat, as the Baileys engine resolves it (`resolveJid`): `address` is the JID
 * WhatsApp addressed the message with, `jid` the phone JID when the stanza carries the alternate.
 * A LID-addressed live message carries the sender's phone number (`sender_pn` / `participant_pn`,
 * Baileys: key.remoteJidAlt / key.participantAlt) once WhatsApp has revealed it: such a message is
 * filed under the phone JID. History-sync messages and copies typed on our phone (`fromMe`) carry
 * no alternate: they stay under the LID.
 */
function resolveSender(from: string, ctx: SandboxInboundContext, withAlternate: boolean) {
  if (from.endsWith('@lid')) {
    const pn = withAlternate ? ctx.lidToPn(from) : undefined;
    return { address: from, jid: pn ?? from, lid: from, phone: pn?.split('@')[0] };
  }
  const digits = onlyDigits(from.split('@')[0]);
  if (digits.length < 6)
    throw new SandboxInvalidInboundError(`"from" must be a phone number or a JID, got "${from}"`);
  const jid = phoneToJid(digits);
  return { address: jid, jid, lid: undefined, phone: digits };
}

function requireField<T>(value: T | undefined, type: string, field: string): T {
  if (value === undefined || value === null)
    throw new SandboxInvalidInboundError(`a "${type}" message needs "${field}"`);
  return value;
}

/** Turns a spec into the normalized message the Baileys engine would have produced. */
export function buildSandboxInbound(
  spec: SandboxInboundSpec,
  ctx: SandboxInboundContext,
): InboundMessage {
  const type: InboundMessageType = spec.type ?? (spec.media ? 'document' : 'text');
  const live = !spec.fromMe && !spec.isHistory;
  const partner = resolveSender(spec.from, ctx, live);
  const isGroup = spec.chatJid?.endsWith('@g.us') ?? false;
  const sender = spec.fromMe ? { jid: ctx.me.jid, lid: ctx.me.lid, phone: ctx.me.phone } : partner;
  const chatJid = spec.chatJid ?? partner.jid;
  const remoteJid = spec.chatJid ?? partner.address;
  const msg: InboundMessage = {
    waMessageId: spec.waMessageId ?? newSandboxMessageId(),
    chatJid,
    senderJid: sender.jid,
    ...(sender.phone ? { senderPhone: sender.phone } : {}),
    ...(sender.lid ? { senderLid: sender.lid } : {}),
    ...(isGroup ? { participant: sender.jid } : {}),
    fromMe: spec.fromMe ?? false,
    ...(spec.pushName && !spec.fromMe ? { pushName: spec.pushName } : {}),
    // WhatsApp stamps messages in whole seconds.
    timestamp: spec.timestamp ?? new Date(Math.floor(Date.now() / 1000) * 1000),
    type,
    ...(spec.quotedId ? { quotedId: spec.quotedId } : {}),
    isHistory: spec.isHistory ?? false,
    ...(spec.fromMe
      ? {}
      : { address: { remoteJid, ...(isGroup ? { participant: partner.address } : {}) } }),
  };

  if (type === 'text') msg.text = requireField(spec.text, type, 'text');
  else if (MEDIA_TYPES.includes(type)) {
    const media = requireField(spec.media, type, 'media');
    msg.media = {
      mimetype: media.mimetype,
      ...(media.fileName ? { fileName: media.fileName } : {}),
      size: media.data.length,
      ...(media.seconds !== undefined ? { seconds: media.seconds } : {}),
      ref: { sandboxMediaKey: ctx.storeMedia(media.data) },
    };
    if (spec.caption) msg.caption = spec.caption;
  } else if (type === 'location') msg.location = requireField(spec.location, type, 'location');
  else if (type === 'contact') msg.contact = requireField(spec.contact, type, 'contact');
  else if (type === 'reaction') msg.reaction = requireField(spec.reaction, type, 'reaction');
  else if (type === 'poll') msg.poll = requireField(spec.poll, type, 'poll');
  else if (type === 'revoke') msg.targetId = requireField(spec.targetId, type, 'targetId');
  else if (type === 'edit') {
    msg.targetId = requireField(spec.targetId, type, 'targetId');
    msg.editedText = requireField(spec.editedText ?? spec.text, type, 'editedText');
  }
  return msg;
}
