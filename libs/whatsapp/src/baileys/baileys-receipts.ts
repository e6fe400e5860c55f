import {
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

/** message-receipt.update (per-recipient receipts, mostly groups) → the strongest state it carries. */
export function statusFromReceipt(u: MessageUserReceiptUpdate): WaStatusUpdate | undefined {
  if (!u.key.id) return undefined;
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
