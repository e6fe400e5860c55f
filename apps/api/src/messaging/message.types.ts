import { isGroupJid } from '@app/common';
import type { InboundMessageType } from '@app/whatsapp';

export const MESSAGE_STATUSES = [
  'pending',
  'sent',
  'delivered',
  'read',
  'played',
  'failed',
] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];
/** What a `played` receipt can be about; for anything else it says no more than read. */
export const PLAYABLE_TYPES = ['audio', 'voice', 'video'] as const;
export const MESSAGE_DIRECTIONS = ['in', 'out'] as const;
export type MessageDirection = (typeof MESSAGE_DIRECTIONS)[number];
export const OUTBOUND_MEDIA_TYPES = ['image', 'video', 'audio', 'document'] as const;
export type OutboundMediaType = (typeof OUTBOUND_MEDIA_TYPES)[number];
/** Every message type we store (the engine-neutral InboundMessageType list). */
export const MESSAGE_TYPES = [
  'text',
  'image',
  'video',
  'audio',
  'voice',
  'document',
  'sticker',
  'location',
  'contact',
  'reaction',
  'poll',
  'revoke',
  'edit',
  'unknown',
] as const satisfies readonly InboundMessageType[];
export type MessageType = InboundMessageType;

/** Types that change another message (react to it, edit it, delete it) rather than say something. */
const CHANGE_TYPES: readonly MessageType[] = ['reaction', 'edit', 'revoke'];
const CHANGE_TYPE_SET: ReadonlySet<string> = new Set(CHANGE_TYPES);
/** A message of its own in the chat list and its counts, not a change to another message. */
export const isChatMessage = (m: { type: string }): boolean => !CHANGE_TYPE_SET.has(m.type);
/** isChatMessage as a query filter. */
export const CHAT_MESSAGE = { type: { $nin: CHANGE_TYPES } } as const;

/** The same peer under each address it was seen with: the chat's, its phone JID, its LID. */
function peerAddresses(m: Pick<MessageRecord, 'chatJid' | 'senderPhone' | 'senderLid'>) {
  const lid = m.senderLid && (m.senderLid.includes('@') ? m.senderLid : `${m.senderLid}@lid`);
  const phone = m.senderPhone && `${m.senderPhone}@s.whatsapp.net`;
  return [...new Set([m.chatJid, phone, lid].filter((a): a is string => !!a))];
}

/**
 * The stored message an edit or revoke may change: the one it names, in the same chat, written by
 * the same side (WhatsApp lets nobody edit or delete another's message), in a group by the same
 * participant. Without this, anyone who knows a message id could rewrite or delete our messages
 * or those of other chats. A group admin may delete others' messages, but the gateway does not
 * know who the admins are (the revoke is end-to-end encrypted, so WhatsApp's servers cannot
 * check it either): such a delete is stored, and the message stays as it was.
 */
export function changeTargetFilter(change: MessageRecord) {
  const { sessionId, targetId: waMessageId, fromMe } = change;
  if (!isGroupJid(change.chatJid)) {
    const chats = fromMe ? [change.chatJid] : peerAddresses(change);
    return { sessionId, waMessageId, chatJid: { $in: chats }, fromMe };
  }
  const inGroup = { sessionId, waMessageId, chatJid: change.chatJid };
  if (fromMe) return { ...inGroup, fromMe };
  const author = peerAddresses({
    ...change,
    chatJid: change.participant ?? change.senderJid ?? '',
  });
  return {
    ...inGroup,
    fromMe,
    $or: [{ participant: { $in: author } }, { senderJid: { $in: author } }],
  };
}

/**
 * The time a message WhatsApp dated is stored at. WhatsApp stamps whole seconds, the gateway dates
 * its own sends to the millisecond when it accepts them: a reply that came within the same second
 * as our message would sort before it. So such a message is dated at its arrival, but no later
 * than the end of the second WhatsApp stamped: within that second it is its arrival; later (offline
 * queue, history sync, a slow batch) the second's last millisecond; and a stamp ahead of our clock
 * (sender or server skew) never dates it in the future, it is its arrival. Received messages, our
 * own typed on the phone and history alike. Computed once, when the message is first stored.
 */
export function whatsAppMessageTime(waTime: Date, arrivedAt: Date): Date {
  const endOfSecond = Math.floor(waTime.getTime() / 1000) * 1000 + 999;
  return new Date(Math.min(arrivedAt.getTime(), endOfSecond));
}

/** Status only moves forward; `failed` is terminal and outranks nothing but pending. */
const RANK: Record<MessageStatus, number> = {
  pending: 0,
  failed: 1,
  sent: 2,
  delivered: 3,
  read: 4,
  played: 5,
};
export const statusRank = (s: MessageStatus) => RANK[s];
/** Statuses a message may be in for `next` to be an improvement. */
/** Statuses of an outgoing message that reached WhatsApp: not pending, not failed. */
export const WENT_OUT_STATUSES: readonly MessageStatus[] = ['sent', 'delivered', 'read', 'played'];
export const wentOut = (status: MessageStatus): boolean => WENT_OUT_STATUSES.includes(status);

export function statusesBelow(next: MessageStatus): MessageStatus[] {
  if (next === 'failed') return ['pending'];
  return MESSAGE_STATUSES.filter((s) => s !== 'failed' && RANK[s] < RANK[next]);
}

/**
 * What can be unread: a received chat message (not a reaction, edit or revoke, which change
 * another message) that came live, not by history sync. Chat counts use the predicate; queries
 * for what is still unread use the filter, the same rule plus "nobody read it yet".
 */
export const countsAsUnread = (m: Pick<MessageRecord, 'direction' | 'history' | 'type'>): boolean =>
  m.direction === 'in' && !m.history && isChatMessage(m);
export const STILL_UNREAD = {
  direction: 'in',
  history: { $exists: false },
  ...CHAT_MESSAGE,
  status: { $in: statusesBelow('read') },
} as const;
/**
 * Where a message stands in its chat: its second of WhatsApp time (WhatsApp dates messages in whole
 * seconds; ours carry milliseconds), and within a second the order messages were stored in (ids
 * grow in store order). So a message received after our reply in the same second comes after it,
 * however precise either time is. A chat's unread count holds the received messages after its
 * latest outgoing one; its last message is its newest.
 */
export interface ChatPosition {
  at: Date;
  id: string;
}
export const positionOf = (m: Pick<MessageRecord, 'timestamp' | '_id'>): ChatPosition => ({
  at: m.timestamp,
  id: m._id,
});
const SECOND = 1000;
const secondOf = (at: Date) => Math.floor(at.getTime() / SECOND);
/** Whether `a` comes after `b` in its chat (anything comes after no position). */
export const isAfter = (a: ChatPosition, b: ChatPosition | undefined): boolean =>
  !b || secondOf(a.at) > secondOf(b.at) || (secondOf(a.at) === secondOf(b.at) && a.id > b.id);
/**
 * isAfter as a query filter on a time and an id field: documents after `p` (`before: true`:
 * before it).
 */
export function positionFilter(
  p: ChatPosition,
  fields: { at: string; id: string },
  before = false,
) {
  const start = new Date(secondOf(p.at) * SECOND);
  const end = new Date(start.getTime() + SECOND);
  return {
    $or: [
      { [fields.at]: before ? { $lt: start } : { $gte: end } },
      {
        [fields.at]: { $gte: start, $lt: end },
        [fields.id]: before ? { $lt: p.id } : { $gt: p.id },
      },
    ],
  };
}
/** Messages after `p`. */
export const afterPosition = (p: ChatPosition) => positionFilter(p, { at: 'timestamp', id: '_id' });

export interface StoredMedia {
  mimetype: string;
  fileName?: string;
  size?: number;
  seconds?: number;
  /** Key in MediaStorage once the bytes are stored. */
  storageKey?: string;
  /**
   * `discarded`: the bytes of a send that failed for good were deleted (it can never go out);
   * the message keeps the rest of its media fields.
   */
  downloadStatus: 'pending' | 'stored' | 'failed' | 'discarded';
  downloadError?: string;
  downloadAttempts?: number;
}

/** A message as stored (lean), shared with Contacts, Stats and events through messaging events. */
export interface MessageRecord {
  _id: string;
  organizationId: string;
  sessionId: string;
  sessionName: string;
  /** Of a message accepted for sending: when its session was created (it names that incarnation). */
  sessionCreatedAt?: Date;
  /** Of a message accepted for sending: its session's last logout then (none: never logged out); it names that link. */
  sessionLoggedOutAt?: Date;
  direction: MessageDirection;
  chatJid: string;
  /** Peer of a 1:1 chat, or the group participant who wrote. */
  senderJid?: string;
  senderPhone?: string;
  senderLid?: string;
  participant?: string;
  pushName?: string;
  fromMe: boolean;
  waMessageId?: string;
  type: MessageType;
  text?: string;
  caption?: string;
  quotedId?: string;
  mentions?: string[];
  media?: StoredMedia;
  location?: { lat: number; lng: number; name?: string };
  contact?: { displayName: string; vcard: string };
  reaction?: { emoji: string; targetId: string };
  poll?: { name: string; options: string[] };
  editedText?: string;
  editedAt?: Date;
  /** The sender deleted it for everyone. */
  revoked?: boolean;
  targetId?: string;
  status: MessageStatus;
  error?: string;
  /** Messages sent through the API only. */
  attempts?: number;
  /** Came by history sync (an earlier message handed over at linking), not live: never unread. */
  history?: true;
  /** Received messages: how WhatsApp addressed them, where read receipts go (internal). */
  waAddress?: { remoteJid: string; participant?: string };
  nextAttemptAt?: Date;
  /** Outbox: the instance whose send attempt is in flight (internal). */
  claimedBy?: string;
  idempotencyKey?: string;
  timestamp: Date;
  sentAt?: Date;
  deliveredAt?: Date;
  readAt?: Date;
  /** Marked read by us; its read receipt still has to reach WhatsApp (internal). */
  readReceiptPending?: true;
  playedAt?: Date;
  failedAt?: Date;
  /** A status change whose effects have not all run yet: since when (internal, see MessageStatusService). */
  statusEffectsAt?: Date;
  createdAt: Date;
  updatedAt: Date;
}

/** Where a message keeps the time it reached each status. */
export const STATUS_TIME_FIELD: Partial<
  Record<MessageStatus, 'sentAt' | 'deliveredAt' | 'readAt' | 'playedAt' | 'failedAt'>
> = {
  sent: 'sentAt',
  delivered: 'deliveredAt',
  read: 'readAt',
  played: 'playedAt',
  failed: 'failedAt',
};

/**
 * Time fields of the receipts a receipt for `status` implies came before it (delivered, read); the
 * sent time is the send's own.
 */
export function impliedTimeFields(status: MessageStatus) {
  return (['delivered', 'read'] as const)
    .filter((s) => RANK[s] < RANK[status])
    .map((s) => (s === 'delivered' ? ('deliveredAt' as const) : ('readAt' as const)));
}

/** When the message reached the status it has, where recorded. */
export function statusTimeOf(m: MessageRecord): Date | undefined {
  const field = STATUS_TIME_FIELD[m.status];
  return field ? m[field] : undefined;
}
