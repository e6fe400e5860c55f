import type { proto } from '@whiskeysockets/baileys';
import type { InboundOptions, OutboundRecord, PairResult, ReceiptType, WaEmulator } from './wa-emulator';

export interface InboundMediaSpec extends InboundOptions {
  data: Buffer;
  mimetype: string;
  caption?: string;
  fileName?: string;
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

  /** True while at least one linked device of this account is logged in. */
  get connected(): boolean {
    return this.emulator.isConnected(this.account);
  }

  /** Linked (not removed) companion device ids. */
  get devices(): number[] {
    return this.emulator.activeCompanions(this.account).map((c) => c.deviceId);
  }

  /** A contact (created on first use, phone digits) as seen by the emulator. */
  contact(phone: string, profile: { pushName?: string; lid?: string } = {}): { phone: string; lid: string; pushName: string; jid: string; lidJid: string } {
    const u = this.emulator.user(phone, profile);
    return { phone: u.phone, lid: u.lid, pushName: u.pushName, jid: `${u.phone}@s.whatsapp.net`, lidJid: `${u.lid}@lid` };
  }

  /** `from` (a contact's phone) sends any WhatsApp message to this account. Returns the message id. */
  sendMessage(from: string, message: proto.IMessage, opts: InboundOptions = {}): Promise<string> {
    return this.emulator.deliverInbound(this.account, from, message, opts);
  }

  sendText(from: string, text: string, opts: InboundOptions = {}): Promise<string> {
    return this.sendMessage(from, { conversation: text }, opts);
  }

  sendImage(from: string, spec: InboundMediaSpec): Promise<string> {
    const media = this.emulator.uploadMedia(spec.data, 'image');
    return this.sendMessage(from, { imageMessage: { ...media, mimetype: spec.mimetype, ...(spec.caption ? { caption: spec.caption } : {}) } }, spec);
  }

  sendDocument(from: string, spec: InboundMediaSpec): Promise<string> {
    const media = this.emulator.uploadMedia(spec.data, 'document');
    return this.sendMessage(
      from,
      { documentMessage: { ...media, mimetype: spec.mimetype, fileName: spec.fileName ?? 'file', ...(spec.caption ? { caption: spec.caption } : {}) } },
      spec,
    );
  }

  /** Messages this account's linked devices sent, as their recipients decrypted them. */
  get outbox(): OutboundRecord[] {
    return this.emulator.outbound.filter((r) => r.account === this.account);
  }

  waitForOutbound(predicate: (r: OutboundRecord) => boolean = () => true, timeoutMs = 10_000): Promise<OutboundRecord> {
    return this.emulator.waitForOutbound((r) => r.account === this.account && predicate(r), timeoutMs);
  }

  /** The recipient of outbound message `id` reports it delivered / read / played. */
  receipt(id: string, type: ReceiptType): void {
    this.emulator.sendReceipt(this.account, id, type);
  }

  /** "Log out from all devices" on the phone: 401 now, and on every later login. */
  logout(): void {
    this.emulator.logout(this.account);
  }

  /** Another WhatsApp Web session replaced this one (440). */
  replace(): void {
    this.emulator.replace(this.account);
  }

  /** The network drops the connection (no close frame). */
  drop(): void {
    this.emulator.drop(this.account);
  }

  streamError(code: number): void {
    this.emulator.streamError(this.account, code);
  }
}
