import {
  areJidsSameUser,
  proto,
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
