import {
  areJidsSameUser,
  getBinaryNodeChild,
  getBinaryNodeChildren,
  isJidGroup,
  isJidStatusBroadcast,
  jidNormalizedUser,
  proto,
  type BinaryNode,
  type MessageUserReceiptUpdate,
  type WAMessage,
  type WAMessageUpdate,
} from '@whiskeysockets/baileys';
import type { WaMessageAck, WaStatusUpdate } from '../engine/wa-connection';
import { resolveJid } from './baileys-jids';

const Status = proto.WebMessageInfo.Status;
const ACK_BY_STATUS: Partial<Record<number, WaMessageAck>> = {
  [Status.ERROR]: 'failed',
  [Status.SERVER_ACK]: 'sent',
  [Status.DELIVERY_ACK]: 'delivered',
  [Status.READ]: 'read',
  [Status.PLAYED]: 'played',
};

const chatOf = (key: WAMessageUpdate['key']) =>
  resolveJid(key.remoteJid, key.remoteJidAlt)?.jid ?? key.remoteJid ?? '';
const toDate = (seconds: unknown) => (seconds ? new Date(Number(seconds) * 1000) : new Date());

/** messages.update → status updates of messages WE sent (PENDING is not a change worth reporting). */
export function statusFromMessageUpdate(u: WAMessageUpdate): WaStatusUpdate | undefined {
  const code = u.update.status;
  if (code === null || code === undefined || !u.key.id || !u.key.fromMe) return undefined;
  const status = ACK_BY_STATUS[code];
  return status
    ? { waMessageId: u.key.id, chatJid: chatOf(u.key), status, at: new Date() }
    : undefined;
}

/**
 * messages.upsert of one of OUR messages that already carries a receipt status. Baileys buffers
 * events; a receipt processed while the send's own upsert is still buffered is merged into that
 * upsert (no messages.update is ever emitted for it), so the status must be read from here.
 */
export function statusFromOwnUpsert(m: WAMessage): WaStatusUpdate | undefined {
  const code = m.status;
  if (code === null || code === undefined || code < Status.DELIVERY_ACK || !m.key?.fromMe)
    return undefined;
  return statusFromMessageUpdate({ key: m.key, update: { status: code } });
}

/** The account's own identities (phone-number JID, LID) once the connection is open. */
export interface OwnJids {
  jid: string;
  lid?: string;
}

/** A received message that another device of the account (the phone) read or played. */
export interface ReadElsewhereItem {
  chatJid: string;
  waMessageId: string;
  at: Date;
}

const isOwnUser = (jid: string | null | undefined, me: OwnJids | undefined) =>
  !!jid && !!me && (areJidsSameUser(jid, me.jid) || (!!me.lid && areJidsSameUser(jid, me.lid)));

/**
 * messages.update of a message we RECEIVED reaching read/played: a `read-self` receipt, i.e. the
 * phone (or another linked device) read it in a one-to-one chat.
 */
export function readElsewhereFromMessageUpdate(u: WAMessageUpdate): ReadElsewhereItem | undefined {
  const code = u.update.status;
  if (!u.key.id || u.key.fromMe || (code !== Status.READ && code !== Status.PLAYED))
    return undefined;
  return { waMessageId: u.key.id, chatJid: chatOf(u.key), at: toDate(u.update.messageTimestamp) };
}

/**
 * messages.upsert of a message we RECEIVED that already carries a read: Baileys folds an update
 * that arrives while the upsert is still buffered (the offline queue on reconnect: a message the
 * phone read meanwhile) into the upsert's `status`, and emits no messages.update for it.
 */
export function readElsewhereFromUpsert(m: WAMessage): ReadElsewhereItem | undefined {
  return m.key
    ? readElsewhereFromMessageUpdate({ key: m.key, update: { status: m.status } })
    : undefined;
}

/**
 * message-receipt.update from our own user: in a group, the phone read a message there (Baileys
 * reports a `read-self` receipt in a group as a per-recipient receipt from us).
 */
export function readElsewhereFromReceipt(
  u: MessageUserReceiptUpdate,
  me: OwnJids | undefined,
): ReadElsewhereItem | undefined {
  const at = u.receipt.playedTimestamp ?? u.receipt.readTimestamp;
  if (!u.key.id || !at || !isOwnUser(u.receipt.userJid, me)) return undefined;
  return { waMessageId: u.key.id, chatJid: chatOf(u.key), at: toDate(at) };
}

/** message-receipt.update (per-recipient receipts, mostly groups) → the strongest state it carries. */
export function statusFromReceipt(
  u: MessageUserReceiptUpdate,
  me: OwnJids | undefined,
): WaStatusUpdate | undefined {
  // Our own user's receipt is a device of ours reading a received message (readElsewhereFromReceipt).
  if (!u.key.id || isOwnUser(u.receipt.userJid, me)) return undefined;
  const r = u.receipt;
  const [status, at]: [WaMessageAck, unknown] | [undefined, undefined] = r.playedTimestamp
    ? ['played', r.playedTimestamp]
    : r.readTimestamp
      ? ['read', r.readTimestamp]
      : r.receiptTimestamp
        ? ['delivered', r.receiptTimestamp]
        : [undefined, undefined];
  return status
    ? { waMessageId: u.key.id, chatJid: chatOf(u.key), status, at: toDate(at) }
    : undefined;
}

/** Receipt types that move one of our messages forward; no type is a delivery receipt. */
const STATUS_BY_RECEIPT_TYPE: Record<string, WaMessageAck> = {
  '': 'delivered',
  read: 'read',
  played: 'played',
};

/**
 * A `<receipt>` stanza as WhatsApp sent it → the statuses of OUR messages it reports (one per
 * listed id). Baileys' own events cannot be relied on for these: its event buffer merges the
 * updates of one message with Object.assign, so a `delivered` from a second device of the
 * recipient that lands in the same batch as a `read` overwrites it, and it records a group
 * `played` as a read. The stanza carries each receipt whole; statuses only move forward
 * downstream, so reporting one that Baileys reports as well is harmless.
 *
 * - One-to-one: `from` = the recipient (any of its devices), no `recipient` attribute.
 * - Group (or status broadcast): `from` = the group, `participant` = the member; WhatsApp always
 *   names the member, and Baileys drops a group receipt without one, so do we.
 * - Several messages: the first in `id`, the others in `<list><item id/>`.
 * - Types: none = delivered, `read`, `played`. Not ours: receipts from our own user (`read-self`,
 *   `played-self`, `sender`: another device of the account), `retry`, `inactive` (a delivery to
 *   a device in the background, which WhatsApp does not show as delivered), `server-error`, ….
 */
export function statusesFromReceiptNode(
  node: BinaryNode,
  me: OwnJids | undefined,
): WaStatusUpdate[] {
  const { id, from, participant, recipient, type, t } = node.attrs;
  const status = STATUS_BY_RECEIPT_TYPE[type ?? ''];
  if (node.tag !== 'receipt' || !id || !from || !status) return [];
  const inGroup = isJidGroup(from) || isJidStatusBroadcast(from);
  if (inGroup ? !participant : !!recipient) return [];
  if (isOwnUser(participant || from, me)) return [];
  const chatJid = inGroup ? from : jidNormalizedUser(from) || from;
  const listed = getBinaryNodeChildren(getBinaryNodeChild(node, 'list'), 'item');
  const at = toDate(t);
  return [id, ...listed.map((item) => item.attrs.id)]
    .filter((waMessageId): waMessageId is string => !!waMessageId)
    .map((waMessageId) => ({ waMessageId, chatJid, status, at }));
}
