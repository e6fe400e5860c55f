import { BufferJSON, type proto } from '@whiskeysockets/baileys';
import { companionAddress, type Directory } from './directory';
import type { EmulatorContext } from './emulator-context';
import type { Envelopes, Outgoing } from './envelopes';
import type { Groups } from './groups';
import { lidJid, msgId, pnJid } from './ids';
import { mediaTypeOf } from './message-kinds';
import { node, unixT, type BinaryNode } from './nodes';
import { RetryReceipts, type SentCopy } from './retry-receipts';
import { phoneOf, type AnyUser, type CompanionRecord } from './state';

export interface DeliveryOptions {
  id?: string;
  /** Deliver to this linked device of the account only (default: every linked device, as WhatsApp does). */
  deviceId?: number;
  /** Send the first `n` copies undecryptable (garbled payload): the companion asks for a retry. */
  undecryptableCopies?: number;
  /** The server time stamped on the message (`t`), e.g. an old message from an offline queue; default now. */
  timestamp?: Date;
}

/**
 * Messages from simulated phones to linked companions: encrypted per companion device (see
 * Envelopes), sent to its live connection or queued until it logs in again, and remembered for
 * retry receipts. Pairwise from a contact, `fromMe` copies from the account's own phone, groups.
 */
export class MessageDelivery {
  readonly retryReceipts: RetryReceipts;

  constructor(
    private readonly ctx: EmulatorContext,
    private readonly envelopes: Envelopes,
    private readonly groups: Groups,
  ) {
    this.retryReceipts = new RetryReceipts(ctx, envelopes, (account, companion, stanza) =>
      this.sendOrQueue(account, companion, stanza),
    );
  }

  private get directory(): Directory {
    return this.ctx.directory;
  }

  /** Sends `out` to every targeted companion of `account` (queued for offline ones); returns the message id. */
  async deliver(account: string, out: Outgoing, opts: DeliveryOptions = {}): Promise<string> {
    const companions = this.directory.targetCompanions(account, opts.deviceId);
    const id = opts.id ?? msgId();
    const t = opts.timestamp ? String(Math.floor(opts.timestamp.getTime() / 1000)) : unixT();
    const groupParts = await this.envelopes.groupParts(out);
    for (const companion of companions) {
      const copy: SentCopy = {
        account,
        deviceId: companion.deviceId,
        id,
        t,
        outgoing: out,
        undecryptableLeft: opts.undecryptableCopies ?? 0,
        resends: 0,
      };
      const corrupt = copy.undecryptableLeft > 0;
      if (corrupt) copy.undecryptableLeft -= 1;
      const encs = await this.envelopes.encsFor(out, account, companion, {
        corrupt,
        ...groupParts,
      });
      this.retryReceipts.remember(copy);
      this.sendOrQueue(account, companion, node('message', { ...out.attrs, id, t }, encs));
    }
    return id;
  }

  /** Sends to the companion's live connection(s), or queues for its next login. */
  sendOrQueue(account: string, companion: CompanionRecord, stanza: BinaryNode): void {
    const live = this.ctx.connections.live(account, companion.deviceId);
    if (live.length) for (const conn of live) conn.send(stanza);
    else {
      const offline = (this.ctx.store.state.offline ??= {});
      const key = companionAddress(account, companion.deviceId);
      (offline[key] ??= []).push(JSON.stringify(stanza, BufferJSON.replacer));
      this.ctx.store.save();
    }
  }

  /**
   * What a closed connection of a companion never acknowledged: sent again to its live connection
   * (a newer login), else queued for its next login, as WhatsApp does.
   */
  deliverAgain(account: string, deviceId: number, stanzas: BinaryNode[]): void {
    const companion = this.directory.companion(account, deviceId);
    if (!companion || companion.removed) return;
    for (const stanza of stanzas) this.sendOrQueue(account, companion, stanza);
  }

  /** What queued up for a companion while it was offline (removed from the queue). */
  takeOfflineQueue(account: string, deviceId: number): BinaryNode[] {
    const offline = this.ctx.store.state.offline ?? {};
    const key = companionAddress(account, deviceId);
    const queued = offline[key] ?? [];
    if (!queued.length) return [];
    delete offline[key];
    this.ctx.store.save();
    return queued.map((json) => JSON.parse(json, BufferJSON.reviver) as BinaryNode);
  }

  /**
   * The account's own phone sends `message` (a protocol message: history sync, …) to its linked
   * devices, or to `deviceId` only; queued for offline ones.
   */
  deliverFromOwnPhone(
    account: string,
    message: proto.IMessage,
    deviceId?: number,
  ): Promise<string> {
    const user = this.directory.user(account);
    return this.deliver(
      account,
      { sender: user, message, attrs: { from: pnJid(user.phone), type: 'text', category: 'peer' } },
      deviceId === undefined ? {} : { deviceId },
    );
  }

  /**
   * Something the user typed on the phone itself: the phone sends its linked devices a copy,
   * wrapped in `deviceSentMessage {destinationJid, message}`, from the account's own JID with the
   * chat as `recipient` (Baileys: a `fromMe` message in that chat).
   */
  deliverFromMe(
    account: string,
    chatJid: string,
    message: proto.IMessage,
    opts: DeliveryOptions = {},
  ): Promise<string> {
    const user = this.directory.user(account);
    return this.deliver(
      account,
      {
        sender: user,
        message: { deviceSentMessage: { destinationJid: chatJid, message } },
        attrs: { from: pnJid(user.phone), recipient: chatJid, type: stanzaType(message) },
      },
      opts,
    );
  }

  /**
   * A contact sends `message` to every linked device of `account` (queued for offline ones), or to
   * `opts.deviceId` only. `contact` is a phone number, or a `…@lid` JID: a contact known only by
   * LID (created on first use) writes without `sender_pn`.
   */
  deliverInbound(
    account: string,
    contact: string,
    message: proto.IMessage,
    opts: DeliveryOptions & { via?: 'pn' | 'lid'; pushName?: string } = {},
  ): Promise<string> {
    const sender = this.sender(contact, opts.pushName);
    const phone = phoneOf(sender);
    const addressing: Record<string, string> = !phone
      ? { from: lidJid(sender.lid), addressing_mode: 'lid' }
      : opts.via === 'lid' || contact.endsWith('@lid')
        ? { from: lidJid(sender.lid), sender_pn: pnJid(phone), addressing_mode: 'lid' }
        : { from: pnJid(phone) };
    return this.deliver(
      account,
      {
        sender,
        message,
        attrs: { ...addressing, type: stanzaType(message), ...notify(sender) },
      },
      opts,
    );
  }

  /**
   * `from` writes `message` in group `groupJid` (created on first use, `from` and the account
   * added as members): each companion gets the sender's key once (pairwise `pkmsg`/`msg`) and the
   * message as `skmsg`. `from` may be the account itself (written on the phone → fromMe).
   */
  deliverToGroup(
    account: string,
    groupJid: string,
    from: string,
    message: proto.IMessage,
    opts: DeliveryOptions & { via?: 'pn' | 'lid'; pushName?: string } = {},
  ): Promise<string> {
    const own = !from.endsWith('@lid') && pnJid(from) === pnJid(account);
    const sender = own ? this.directory.user(account) : this.sender(from, opts.pushName);
    const phone = phoneOf(sender);
    const byLid = !phone || (!own && (opts.via === 'lid' || from.endsWith('@lid')));
    const member = byLid ? lidJid(sender.lid) : pnJid(phone);
    const record = this.groups.ensure(groupJid, account, [member]);
    const attrs: Record<string, string> = {
      from: groupJid,
      participant: member,
      type: stanzaType(message),
      ...(own ? {} : notify(sender)),
      ...(byLid
        ? { addressing_mode: 'lid', ...(phone ? { participant_pn: pnJid(phone) } : {}) }
        : {}),
    };
    return this.deliver(account, { sender, message, attrs, group: { record, member } }, opts);
  }

  /** The user behind a phone number or a LID JID (a contact known only by LID is created). */
  private sender(contact: string, pushName?: string): AnyUser {
    const profile = pushName ? { pushName } : {};
    if (!contact.endsWith('@lid')) return this.directory.user(contact, profile);
    const known = this.directory.anyUserByLid(contact);
    if (known && 'phone' in known) return this.directory.user(known.phone, profile);
    return this.directory.lidOnlyUser(contact, profile);
  }
}

/** The sender's push name, as the `notify` attribute (none when the user never set one). */
const notify = (sender: AnyUser): Record<string, string> =>
  sender.pushName ? { notify: sender.pushName } : {};

const stanzaType = (message: proto.IMessage) => (mediaTypeOf(message) ? 'media' : 'text');
