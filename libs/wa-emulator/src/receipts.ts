import type { ClientConnection } from './client-connection';
import type { EmulatorContext } from './emulator-context';
import { children, node, SERVER, unixT, type BinaryNode } from './nodes';
import type { Groups } from './groups';
import { lidJid, pnJid } from './ids';
import type { OutboundMessages } from './outbound';
import type { ClientReceiptRecord, OutboundRecord, ReceiptOptions, ReceiptType } from './types';

/**
 * Receipts both ways: what linked devices report about inbound messages (recorded, acked), and
 * what recipients report about outbound ones (delivered / read / played, by hand or automatically).
 */
export class Receipts {
  readonly fromClients: ClientReceiptRecord[] = [];
  /** Called for `<receipt type="retry">` (the companion could not decrypt a message). */
  onRetry?: (account: string, deviceId: number, receipt: BinaryNode) => Promise<void>;

  constructor(
    private readonly ctx: EmulatorContext,
    private readonly outbound: OutboundMessages,
    private readonly groups: Groups,
  ) {}

  async onClientReceipt(conn: ClientConnection, receipt: BinaryNode): Promise<void> {
    const { id, to, type } = receipt.attrs;
    // One receipt may cover several messages of a chat: the first in `id`, the rest listed.
    const listed = children(receipt, 'list').flatMap((list) => children(list, 'item'));
    if (conn.account)
      for (const messageId of [id, ...listed.map((item) => item.attrs.id)])
        this.fromClients.push({
          account: conn.account,
          id: messageId,
          to: to ?? '',
          type: type ?? 'delivered',
        });
    conn.send(node('ack', { class: 'receipt', id, from: to ?? SERVER, ...(type ? { type } : {}) }));
    if (type === 'retry' && conn.account && conn.deviceId !== undefined)
      await this.onRetry?.(conn.account, conn.deviceId, receipt).catch((err: unknown) =>
        this.ctx.log('could not answer a retry receipt', { id, err: String(err) }),
      );
  }

  /**
   * The recipient of an outbound message sends a delivery/read/played receipt to every live device
   * of `account` (or `deviceId` only). One-to-one: `from` the contact. Group: `from` the group and
   * `participant` the member who received or read it, as WhatsApp sends them (each member reports
   * for itself; Baileys drops a group receipt that names no member).
   */
  send(account: string, messageId: string, type: ReceiptType, options: ReceiptOptions = {}): void {
    const chat = this.outbound.find(account, messageId)?.to ?? options.chat;
    if (!chat)
      throw new Error(`no outbound message ${messageId} from ${account} (and no chat given)`);
    const attrs: Record<string, string> = { from: chat, id: messageId, t: unixT() };
    if (chat.endsWith('@g.us')) attrs.participant = this.member(chat, account, options.from);
    if (type !== 'delivered') attrs.type = type;
    for (const conn of this.ctx.connections.live(account, options.deviceId))
      conn.send(node('receipt', attrs));
  }

  /** The group member a receipt comes from: `from` (a phone or a JID), else the first other member. */
  private member(groupJid: string, account: string, from?: string): string {
    const group = this.groups.get(groupJid);
    if (!group) throw new Error(`no group ${groupJid}`);
    const own = pnJid(account);
    const wanted = from && (from.includes('@') ? from : pnJid(from));
    const member = wanted
      ? group.participants.find((p) => p === wanted || p === lidJid(wanted))
      : group.participants.find((p) => p !== own);
    if (!member || member === own)
      throw new Error(
        wanted
          ? `${wanted} is not another member of ${groupJid}`
          : `${groupJid} has no member besides ${account}`,
      );
    return member;
  }

  /**
   * The `read-self` receipt WhatsApp sends the linked devices when the account's phone read
   * received messages `ids` of `chatJid`: from the account with the contact as `recipient` in a
   * one-to-one chat, from the group with the account as `participant` in a group.
   */
  readSelfReceipt(account: string, chatJid: string, ids: string[]): BinaryNode {
    if (!ids.length) throw new Error('no message ids to read');
    const own = pnJid(account);
    const where: Record<string, string> = chatJid.endsWith('@g.us')
      ? { from: chatJid, participant: own }
      : { from: own, recipient: chatJid };
    const rest = ids.slice(1).map((id) => node('item', { id }));
    return node(
      'receipt',
      { ...where, id: ids[0], type: 'read-self', t: unixT() },
      rest.length ? [node('list', {}, rest)] : undefined,
    );
  }

  /** With `autoReceipts`: the recipient reports the message delivered, then read, by itself. */
  scheduleAuto(record: OutboundRecord): void {
    const auto = this.ctx.options.autoReceipts;
    if (!auto) return;
    if (auto.deliveredMs !== undefined)
      setTimeout(() => this.send(record.account, record.id, 'delivered'), auto.deliveredMs).unref();
    if (auto.readMs !== undefined)
      setTimeout(() => this.send(record.account, record.id, 'read'), auto.readMs).unref();
  }
}
