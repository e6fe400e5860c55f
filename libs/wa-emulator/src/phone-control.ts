import { proto } from '@whiskeysockets/baileys';
import { historySyncMessage } from './history-sync';
import { lidJid, pnJid } from './ids';
import type { RetryRecord } from './retry-receipts';
import type { GroupRecord } from './state';
import type {
  InboundOptions,
  OutboundRecord,
  PairResult,
  ReceiptOptions,
  ReceiptType,
} from './types';
import type { WaEmulator } from './wa-emulator';

export interface InboundMediaSpec extends InboundOptions {
  data: Buffer;
  mimetype: string;
  caption?: string;
  fileName?: string;
  /** Audio/video duration. */
  seconds?: number;
}

export type InboundMediaKind = 'image' | 'video' | 'audio' | 'voice' | 'document' | 'sticker';

/** What the phone's address book / WhatsApp knows about a contact (sent to linked devices as history sync). */
export interface ContactSpec {
  phone: string;
  pushName?: string;
  /** Address-book name. */
  name?: string;
  /** `123…@lid` or digits. */
  lid?: string;
}

/**
 * The simulated phone of one WhatsApp account, and the contacts that talk to it:
 * scan a QR, receive messages from contacts, answer with receipts, log devices out.
 */
export class PhoneControl {
  constructor(
    private readonly emulator: WaEmulator,
    readonly account: string,
  ) {}

  /** Profile of this account (created on first use). */
  get profile(): { phone: string; lid: string; pushName: string } {
    const { phone, lid, pushName } = this.emulator.user(this.account);
    return { phone, lid, pushName };
  }

  /** Scans the QR string a client showed (`connection.update.qr`); resolves once the client confirmed the pairing. */
  scan(qr: string, profile: { pushName?: string; lid?: string } = {}): Promise<PairResult> {
    return this.emulator.scan(this.account, qr, profile);
  }
  /**
   * Types the pairing code a client of this account shows (Baileys `requestPairingCode(phone)`):
   * resolves once the device is linked; rejects on a wrong code.
   */
  enterPairingCode(
    code: string,
    profile: { pushName?: string; lid?: string } = {},
  ): Promise<PairResult> {
    return this.emulator.enterPairingCode(this.account, code, profile);
  }

  /** True while at least one linked device of this account is logged in. */
  get connected(): boolean {
    return this.emulator.isConnected(this.account);
  }

  /** Linked (not removed) companion device ids. */
  get devices(): number[] {
    return this.emulator.activeCompanions(this.account).map((c) => c.deviceId);
  }

  /** A contact (created on first use, phone digits) as seen by the emulator. */
  contact(
    phone: string,
    profile: { pushName?: string; lid?: string } = {},
  ): { phone: string; lid: string; pushName: string; jid: string; lidJid: string } {
    const u = this.emulator.user(phone, profile);
    return {
      phone: u.phone,
      lid: u.lid,
      pushName: u.pushName,
      jid: `${u.phone}@s.whatsapp.net`,
      lidJid: `${u.lid}@lid`,
    };
  }

  /**
   * `from` sends any WhatsApp message to this account: a contact's phone, or a `…@lid` JID (a LID
   * the emulator does not know becomes a contact known only by LID: no `sender_pn`). Returns the message id.
   */
  sendMessage(from: string, message: proto.IMessage, opts: InboundOptions = {}): Promise<string> {
    return this.emulator.deliverInbound(this.account, from, message, opts);
  }

  /**
   * The user types `message` on this phone in the chat with `chat` (a phone, or a PN/LID JID): the
   * linked devices get it as a `fromMe` message (`deviceSentMessage`). Returns the message id.
   */
  sendFromMe(
    chat: string,
    message: proto.IMessage,
    opts: Omit<InboundOptions, 'via' | 'pushName'> = {},
  ): Promise<string> {
    const chatJid = chat.includes('@') ? chat : pnJid(chat);
    return this.emulator.deliverFromMe(this.account, chatJid, message, opts);
  }

  /**
   * `from` (a contact's phone, a `…@lid` JID, or this account's own number: typed on the phone)
   * writes `message` in group `groupJid` (`…@g.us`, created with both as members on first use).
   */
  sendGroupMessage(
    groupJid: string,
    from: string,
    message: proto.IMessage,
    opts: InboundOptions = {},
  ): Promise<string> {
    return this.emulator.deliverToGroup(this.account, groupJid, from, message, opts);
  }

  /** Creates (or updates) a group this account is in, with `members` (phones or LID JIDs). */
  createGroup(groupJid: string, members: string[] = [], subject?: string): GroupRecord {
    const jids = members.map((m) => (m.includes('@') ? m : pnJid(m)));
    return this.emulator.ensureGroup(groupJid, this.account, jids, subject);
  }

  /**
   * The group is named `subject` (created with this account in it when new): the account's live
   * devices are told their groups changed, and fetch them. Returns how many were told.
   */
  nameGroup(groupJid: string, subject: string): number {
    this.emulator.ensureGroup(groupJid, this.account, [], subject);
    return this.emulator.groupsChanged(this.account);
  }

  sendText(from: string, text: string, opts: InboundOptions = {}): Promise<string> {
    return this.sendMessage(from, { conversation: text }, opts);
  }

  sendImage(from: string, spec: InboundMediaSpec): Promise<string> {
    const media = this.emulator.uploadMedia(spec.data, 'image');
    return this.sendMessage(
      from,
      {
        imageMessage: {
          ...media,
          mimetype: spec.mimetype,
          ...(spec.caption ? { caption: spec.caption } : {}),
        },
      },
      spec,
    );
  }

  sendDocument(from: string, spec: InboundMediaSpec): Promise<string> {
    const media = this.emulator.uploadMedia(spec.data, 'document');
    return this.sendMessage(
      from,
      {
        documentMessage: {
          ...media,
          mimetype: spec.mimetype,
          fileName: spec.fileName ?? 'file',
          ...(spec.caption ? { caption: spec.caption } : {}),
        },
      },
      spec,
    );
  }

  /** Any media kind; the file is encrypted and served from the emulator's media endpoint. */
  sendMedia(from: string, kind: InboundMediaKind, spec: InboundMediaSpec): Promise<string> {
    return this.sendMessage(from, this.mediaMessage(kind, spec), spec);
  }

  /** Builds (and uploads the file of) a media message without sending it. */
  mediaMessage(
    kind: InboundMediaKind,
    spec: Omit<InboundMediaSpec, keyof InboundOptions>,
  ): proto.IMessage {
    const media = {
      ...this.emulator.uploadMedia(spec.data, kind === 'voice' ? 'audio' : kind),
      mimetype: spec.mimetype,
    };
    const caption = spec.caption ? { caption: spec.caption } : {};
    const seconds = spec.seconds !== undefined ? { seconds: spec.seconds } : {};
    switch (kind) {
      case 'image':
        return { imageMessage: { ...media, ...caption } };
      case 'video':
        return { videoMessage: { ...media, ...caption, ...seconds } };
      case 'audio':
      case 'voice':
        return { audioMessage: { ...media, ...seconds, ptt: kind === 'voice' } };
      case 'document':
        return { documentMessage: { ...media, ...caption, fileName: spec.fileName ?? 'file' } };
      case 'sticker':
        return { stickerMessage: media };
    }
  }

  /**
   * The phone tells its linked devices about contacts, as WhatsApp does, by history sync:
   * push names in a PUSH_NAME chunk, address-book names and LIDs in a RECENT chunk. Contacts with
   * an address-book `name` are also written to the account's app state (contactAction), which
   * companions read at their next app-state sync (a resync, or the initial sync of a new device),
   * or at once with `serverSync`. Resolves once the chunks are encrypted and sent (or queued).
   */
  async pushContacts(
    contacts: ContactSpec[],
    opts: { deviceId?: number; serverSync?: boolean } = {},
  ): Promise<void> {
    const named = contacts.filter((c) => c.name);
    if (named.length)
      await this.emulator.setAddressBook(
        this.account,
        named.map((c) => ({
          jid: pnJid(c.phone),
          fullName: c.name!,
          ...(c.lid ? { lidJid: lidJid(c.lid) } : {}),
        })),
        opts,
      );
    const pushnames = contacts
      .filter((c) => c.pushName)
      .map((c) => ({ id: pnJid(c.phone), pushname: c.pushName }));
    const conversations = contacts
      .filter((c) => c.name || c.lid)
      .map((c) => ({
        id: pnJid(c.phone),
        ...(c.name ? { name: c.name } : {}),
        ...(c.lid ? { lidJid: lidJid(c.lid) } : {}),
      }));
    if (pushnames.length)
      await this.emulator.deliverFromOwnPhone(
        this.account,
        historySyncMessage({ syncType: proto.HistorySync.HistorySyncType.PUSH_NAME, pushnames }),
        opts.deviceId,
      );
    if (conversations.length)
      await this.emulator.deliverFromOwnPhone(
        this.account,
        historySyncMessage({ syncType: proto.HistorySync.HistorySyncType.RECENT, conversations }),
        opts.deviceId,
      );
  }

  /**
   * WhatsApp's history sync: the phone hands its linked devices (or `deviceId` only) earlier
   * messages of `chat` in a RECENT chunk, as it does after linking; Baileys reports them as
   * `messaging-history.set`. `participant` is the sender in a group.
   */
  async syncHistory(
    chat: string,
    messages: Array<{
      id: string;
      message: proto.IMessage;
      fromMe?: boolean;
      participant?: string;
      pushName?: string;
      timestamp?: Date;
    }>,
    opts: { deviceId?: number } = {},
  ): Promise<void> {
    const chatJid = chat.includes('@') ? chat : pnJid(chat);
    const conversation = {
      id: chatJid,
      messages: messages.map((m) => ({
        message: {
          key: {
            remoteJid: chatJid,
            fromMe: !!m.fromMe,
            id: m.id,
            ...(m.participant ? { participant: m.participant } : {}),
          },
          message: m.message,
          messageTimestamp: Math.floor((m.timestamp ?? new Date()).getTime() / 1000),
          ...(m.pushName ? { pushName: m.pushName } : {}),
        },
      })),
    };
    await this.emulator.deliverFromOwnPhone(
      this.account,
      historySyncMessage({
        syncType: proto.HistorySync.HistorySyncType.RECENT,
        conversations: [conversation],
      }),
      opts.deviceId,
    );
  }

  /**
   * WhatsApp reveals which LID belongs to a phone number, to the live linked devices (server `mex`
   * notification → Baileys `lid-mapping.update`); from then on the emulator treats the LID as this
   * phone's (a contact known only by it becomes this phone's contact). Returns how many connections were told.
   */
  revealLid(mapping: { phone: string; lid: string }, opts: { deviceId?: number } = {}): number {
    this.emulator.linkLid(mapping.phone, mapping.lid);
    return this.emulator.revealLid(
      this.account,
      { lid: lidJid(mapping.lid), pn: pnJid(mapping.phone) },
      opts.deviceId,
    );
  }

  /** Messages this account's linked devices sent, as their recipients decrypted them. */
  get outbox(): OutboundRecord[] {
    return this.emulator.outbound.filter((r) => r.account === this.account);
  }

  waitForOutbound(
    predicate: (r: OutboundRecord) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<OutboundRecord> {
    return this.emulator.waitForOutbound(
      (r) => r.account === this.account && predicate(r),
      timeoutMs,
    );
  }

  /** Retry receipts this account's linked devices sent (could not decrypt), and whether each was answered. */
  get retries(): RetryRecord[] {
    return this.emulator.retries.filter((r) => r.account === this.account);
  }

  /**
   * The recipient of outbound message `id` reports it delivered / read / played (in a group: one
   * member, `options.from` or the first other one). `options.chat` names the chat of a message the
   * emulator did not record (sent before a restart).
   */
  receipt(id: string, type: ReceiptType, options: ReceiptOptions = {}): void {
    this.emulator.sendReceipt(this.account, id, type, options);
  }

  /**
   * The phone reads received messages `ids` of `chat` (a contact's phone or JID, or a group JID):
   * the linked devices (or `deviceId` only) get a `read-self` receipt and stop counting them unread.
   */
  readOnPhone(chat: string, ids: string[], deviceId?: number): void {
    this.emulator.sendReadSelf(
      this.account,
      chat.includes('@') ? chat : pnJid(chat),
      ids,
      deviceId,
    );
  }

  /** "Log out from all devices" on the phone (or unlink `deviceId` only): 401 now, and on every later login. */
  logout(deviceId?: number): void {
    this.emulator.logout(this.account, deviceId);
  }

  /** Another WhatsApp Web session replaced this one (440). */
  replace(deviceId?: number): void {
    this.emulator.replace(this.account, deviceId);
  }

  /** The network drops the connection (no close frame). */
  drop(deviceId?: number): void {
    this.emulator.drop(this.account, deviceId);
  }

  streamError(code: number, deviceId?: number): void {
    this.emulator.streamError(this.account, code, deviceId);
  }
}
