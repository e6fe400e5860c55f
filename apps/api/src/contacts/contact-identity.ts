import {
  isGroupJid,
  isLidJid,
  isUserJid,
  normalizeJid,
  normalizePhone,
  phoneFromJid,
  USER_SERVER,
} from '@app/common';
import type { ContactInfo } from '@app/whatsapp';
import type { MessageRecord, MessageType } from '../messaging/message.types';

/**
 * What one engine event or message told us about one peer, already normalized.
 * Pure data: turned into database updates by contact-rules.ts.
 */
export interface ContactObservation {
  /** Document key: the phone JID when the number is known, else the `@lid`, or the group JID. */
  jid: string;
  lid?: string;
  /** E.164 digits without '+'. */
  phone?: string;
  isGroup: boolean;
  addressBookName?: string;
  pushName?: string;
  verifiedName?: string;
  isBusiness?: boolean;
  profilePictureUrl?: string;
  /** When WhatsApp showed this; feeds firstSeenAt, and orders pushName writes unless `pushNameAt`. */
  observedAt: Date;
  /** When `pushName` was seen, if later than `observedAt` (observations folded together). */
  pushNameAt?: Date;
  /** Only for messages of the chat with this peer: `count` messages (default 1), the latest at `at`. */
  message?: { at: Date; count?: number };
}

const MAX_NAME = 256;
/** Protocol messages that change another message; they are not chat activity of their own. */
const NOT_COUNTED: ReadonlySet<MessageType> = new Set<MessageType>(['revoke', 'edit', 'reaction']);

export const phoneJid = (phone: string) => `${phone}@${USER_SERVER}`;

/** `123`, `123@lid` or `123:4@lid` → `123@lid`; anything else → undefined. */
export function toLid(value: string | null | undefined): string | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  if (!v.includes('@')) return /^\d+$/.test(v) ? `${v}@lid` : undefined;
  const jid = normalizeJid(v);
  return isLidJid(jid) && /^\d+@lid$/.test(jid) ? jid : undefined;
}

/** A phone in any notation or a phone JID (device suffix allowed) → digits; LIDs/groups → undefined. */
export function toPhone(value: string | null | undefined): string | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  if (!v.includes('@')) return normalizePhone(v);
  return normalizePhone(phoneFromJid(normalizeJid(v)));
}

interface Identity {
  jid: string;
  lid?: string;
  phone?: string;
  isGroup: boolean;
}

/**
 * Normalizes a peer: device suffixes dropped, a LID with a known phone keyed by the phone JID.
 * The JID itself is authoritative; `hints` only fill what it does not say. Broadcast lists,
 * newsletters and malformed JIDs → undefined (not contacts).
 */
export function resolveIdentity(
  rawJid: string | null | undefined,
  hints: { lid?: string | null; phone?: string | null } = {},
): Identity | undefined {
  if (!rawJid) return undefined;
  const jid = normalizeJid(rawJid.trim());
  if (isGroupJid(jid)) return /^[\d-]+@g\.us$/.test(jid) ? { jid, isGroup: true } : undefined;
  if (isLidJid(jid)) {
    const lid = toLid(jid);
    if (!lid) return undefined;
    const phone = toPhone(hints.phone);
    return { jid: phone ? phoneJid(phone) : lid, lid, ...(phone ? { phone } : {}), isGroup: false };
  }
  if (isUserJid(jid)) {
    const phone = toPhone(jid);
    if (!phone) return undefined;
    const lid = toLid(hints.lid);
    return { jid: phoneJid(phone), ...(lid ? { lid } : {}), phone, isGroup: false };
  }
  return undefined;
}

export function cleanName(value: string | null | undefined): string | undefined {
  const v = value?.replace(/\s+/g, ' ').trim();
  return v ? v.slice(0, MAX_NAME) : undefined;
}

/** Baileys uses the placeholder `changed` for "a new picture exists"; only real URLs are stored. */
export function pictureUrl(value: string | null | undefined): string | undefined {
  return value && /^https?:\/\//i.test(value) ? value : undefined;
}

export function observationFromContactInfo(
  info: ContactInfo,
  observedAt: Date,
): ContactObservation | undefined {
  const id = resolveIdentity(info.jid, { lid: info.lid, phone: info.phone });
  if (!id) return undefined;
  const observation: ContactObservation = { ...id, observedAt };
  const addressBookName = cleanName(info.name);
  const pushName = cleanName(info.notify);
  const verifiedName = cleanName(info.verifiedName);
  const profilePictureUrl = pictureUrl(info.imgUrl);
  if (addressBookName) observation.addressBookName = addressBookName;
  if (pushName) observation.pushName = pushName;
  if (verifiedName) observation.verifiedName = verifiedName;
  if (typeof info.isBusiness === 'boolean') observation.isBusiness = info.isBusiness;
  if (profilePictureUrl) observation.profilePictureUrl = profilePictureUrl;
  return observation;
}

/** What an engine contact event tells, seen at `observedAt` (contacts that are no peer left out). */
export function observeContacts(contacts: ContactInfo[], observedAt: Date): ContactObservation[] {
  return contacts
    .map((info) => observationFromContactInfo(info, observedAt))
    .filter((o): o is ContactObservation => o !== undefined);
}

/**
 * The peers one stored message reveals. 1:1 chat: the chat partner (with its LID/phone and
 * pushName when it wrote the message). Group: the group (which gets the message count) and,
 * for messages not from us, the participant who wrote it (a sighting, no count).
 */
export function observationsFromMessage(message: MessageRecord): ContactObservation[] {
  const parsed = new Date(message.timestamp);
  const at = Number.isNaN(parsed.getTime()) ? new Date() : parsed;
  const counted = !NOT_COUNTED.has(message.type);
  const fromPeer = !message.fromMe && message.direction === 'in';
  const chat = normalizeJid(message.chatJid ?? '');
  const out: ContactObservation[] = [];

  if (isGroupJid(chat)) {
    const group = resolveIdentity(chat);
    if (group) out.push({ ...group, observedAt: at, ...(counted ? { message: { at } } : {}) });
    if (fromPeer) {
      const author = resolveIdentity(message.participant ?? message.senderJid, {
        lid: message.senderLid,
        phone: message.senderPhone,
      });
      const pushName = cleanName(message.pushName);
      if (author && !author.isGroup)
        out.push({ ...author, observedAt: at, ...(pushName ? { pushName } : {}) });
    }
    return out;
  }

  const peer = resolveIdentity(
    chat,
    fromPeer ? { lid: message.senderLid, phone: message.senderPhone } : {},
  );
  if (!peer) return out;
  const pushName = fromPeer ? cleanName(message.pushName) : undefined;
  out.push({
    ...peer,
    observedAt: at,
    ...(pushName ? { pushName } : {}),
    ...(counted ? { message: { at } } : {}),
  });
  return out;
}
