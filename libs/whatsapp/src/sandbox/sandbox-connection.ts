import { Readable } from 'node:stream';
import {
  InvalidPairingCodeError,
  MediaNotFoundError,
  SandboxInvalidStateError,
  SandboxUnknownMessageError,
  SessionNotConnectedError,
} from '../errors';
import type { WaAuthStore } from '../auth-state/wa-auth-store';
import { CLOSE_CODES, type WaCloseInfo, type WaCloseReason } from '../engine/close-reason';
import type { InboundMessage, MediaRef } from '../engine/inbound-message';
import type { OutboundContent, QuotedMessage, SendResult } from '../engine/outbound-content';
import { TypedEmitter } from '../engine/typed-emitter';
import type {
  ContactInfo,
  WaConnection,
  WaConnectionEvents,
  WaReadKey,
} from '../engine/wa-connection';
import {
  newPairingCode,
  newSandboxMessageId,
  newSandboxQr,
  onlyDigits,
  phoneToJid,
} from './sandbox-ids';
import { capped } from '../engine/media-cap';
import { buildSandboxInbound, type SandboxInboundSpec } from './sandbox-inbound';
import type { SandboxHub } from './sandbox-hub';
import type { WaSessionStatus } from '../session-state/session-state';

/** Where a simulated connection (sandbox or emulated) is in its life. */
export type SandboxPhase = 'starting' | 'qr' | 'open' | 'ended';
const PHASE_STATUS: Record<SandboxPhase, WaSessionStatus | undefined> = {
  starting: 'connecting',
  qr: 'qr_ready',
  open: 'connected',
  ended: undefined, // the session's status is the registry's to tell (reconnecting, logged out…)
};

/** The session status a phase shows as in errors: the API's statuses, never the phase's name. */
export const statusOfPhase = (phase: SandboxPhase): WaSessionStatus | undefined =>
  PHASE_STATUS[phase];
/** A phase in words, for error messages. */
export const describePhase = (phase: SandboxPhase): string =>
  phase === 'open' ? 'already connected' : (statusOfPhase(phase) ?? 'not connected');

/** What a linked sandbox account keeps in the auth store (instead of Baileys creds). */
export interface SandboxCreds {
  sandbox: true;
  phone: string;
  jid: string;
  lid?: string;
  pushName?: string;
}

export interface SandboxTimings {
  firstTtlMs: number;
  rotateMs: number;
  maxQrRefs: number;
}

export type SandboxReceiptStatus = 'delivered' | 'read' | 'played';

/**
 * The quote a sent reply carried, as its recipient got it (WhatsApp's contextInfo): the quoted
 * message's id, its author (`participant`) and what the recipient's app shows of it.
 */
export interface SandboxSentQuote {
  waMessageId: string;
  participant: string;
  /** Kind of the quoted content (text, image, …). */
  type: string;
  text?: string;
  caption?: string;
}

const CLOSE_MESSAGES: Record<WaCloseReason, string> = {
  connectionLost: 'Connection was lost',
  loggedOut: 'Connection Failure: logged out from the phone',
  restartRequired: 'Stream Errored (restart required)',
  connectionReplaced: 'Stream Errored (conflict): connection replaced by another client',
  timedOut: 'Timed Out',
  badSession: 'Bad session',
  forbidden: 'Connection Failure',
  multideviceMismatch: 'Multi-device beta not joined',
  // As Baileys words a stream error whose only reason is its code.
  unavailableService: 'Stream Errored (unknown)',
  other: 'Connection Closed',
};
const OTHER_CLOSE_CODE = 428;
const MAX_REMEMBERED_SENDS = 500;
const MAX_REMEMBERED_READS = 1000;
/** Chunk size of a sandbox media download (a real one arrives in pieces too). */
const CHUNK = 64 * 1024;

/**
 * The quote WhatsApp delivers for a reply to `q`: authored by our own account when it is ours, else
 * by its author, else (as Baileys falls back) by the chat.
 */
function sentQuote(q: QuotedMessage, myJid: string): SandboxSentQuote {
  return {
    waMessageId: q.waMessageId,
    participant: q.fromMe ? myJid : (q.author ?? q.chatJid),
    type: q.type,
    ...(q.text !== undefined ? { text: q.text } : {}),
    ...(q.caption ? { caption: q.caption } : {}),
  };
}

const isSandboxCreds = (c: unknown): c is SandboxCreds =>
  (c as SandboxCreds | undefined)?.sandbox === true &&
  typeof (c as SandboxCreds).phone === 'string';

/**
 * A simulated WhatsApp Web connection with the same event model and failure
 * modes as the Baileys engine. Idle + connected it holds no timer at all;
 * only the QR phase runs one.
 */
export class SandboxConnection extends TypedEmitter<WaConnectionEvents> implements WaConnection {
  private state: SandboxPhase = 'starting';
  private qrTimer?: NodeJS.Timeout;
  private qrCount = 0;
  private me?: SandboxCreds;
  private pairing?: { code: string; phone: string };
  // Created on first use so an idle session stays a handful of fields.
  private sentChats?: Map<string, { chatJid: string; quote?: SandboxSentQuote }>;
  private contacts?: Map<string, ContactInfo>;
  private lids?: Map<string, string>;

  constructor(
    readonly sessionId: string,
    private readonly auth: WaAuthStore,
    private readonly hub: SandboxHub,
    private readonly timings: SandboxTimings,
  ) {
    super();
    hub.register(this);
    setImmediate(() => void this.boot());
  }

  get phase() {
    return this.state;
  }

  private isEnded(): boolean {
    return this.state === 'ended';
  }

  // ---- engine side -------------------------------------------------------

  private async boot(): Promise<void> {
    if (this.state === 'ended') return;
    this.emit('connecting');
    let creds: unknown;
    try {
      creds = await this.auth.readCreds();
    } catch (err) {
      this.end({
        code: CLOSE_CODES.badSession,
        reason: 'badSession',
        message: `Auth state is unreadable: ${(err as Error).message}`,
      });
      return;
    }
    if (this.isEnded()) return; // closed while reading creds
    if (isSandboxCreds(creds)) {
      this.me = creds;
      this.state = 'open';
      this.emit('open', {
        jid: creds.jid,
        phone: creds.phone,
        ...(creds.lid ? { lid: creds.lid } : {}),
        ...(creds.pushName ? { pushName: creds.pushName } : {}),
      });
      return;
    }
    this.state = 'qr';
    this.nextQr();
  }

  private nextQr(): void {
    if (this.state !== 'qr') return;
    if (this.qrCount >= this.timings.maxQrRefs) {
      this.end({
        code: CLOSE_CODES.timedOut,
        reason: 'timedOut',
        message: 'QR refs attempts ended',
      });
      return;
    }
    this.qrCount += 1;
    this.emit('qr', newSandboxQr(this.sessionId, this.qrCount));
    this.qrTimer = setTimeout(
      () => this.nextQr(),
      this.qrCount === 1 ? this.timings.firstTtlMs : this.timings.rotateMs,
    );
  }

  private end(info?: WaCloseInfo): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    clearTimeout(this.qrTimer);
    this.qrTimer = undefined;
    this.hub.unregister(this);
    if (info) this.emit('close', info);
    this.removeAllListeners();
  }

  private assertOpen(): SandboxCreds {
    if (this.state !== 'open' || !this.me)
      throw new SessionNotConnectedError(this.sessionId, statusOfPhase(this.state));
    return this.me;
  }

  async sendMessage(to: string, content: OutboundContent): Promise<SendResult> {
    const me = this.assertOpen();
    if (!to.includes('@')) throw new Error(`Invalid JID "${to}"`);
    const waMessageId = newSandboxMessageId();
    this.rememberSend(waMessageId, to, content.replyTo && sentQuote(content.replyTo, me.jid));
    // The server ack arrives after the send call returns, as with WhatsApp.
    setImmediate(() => {
      if (this.state === 'open')
        this.emit('status', { waMessageId, chatJid: to, status: 'sent', at: new Date() });
    });
    return { waMessageId, timestamp: new Date() };
  }

  async downloadMedia(ref: MediaRef, maxBytes: number): Promise<Readable> {
    const data =
      typeof ref.sandboxMediaKey === 'string' ? this.hub.media.get(ref.sandboxMediaKey) : undefined;
    if (!data) throw new MediaNotFoundError();
    // In chunks, as a real download arrives, so storage and the limit see a stream.
    const chunks = Array.from({ length: Math.ceil(data.length / CHUNK) }, (_, i) =>
      data.subarray(i * CHUNK, (i + 1) * CHUNK),
    );
    const source = Readable.from(chunks);
    return source.pipe(capped(maxBytes, source));
  }

  async requestPairingCode(phoneDigits: string): Promise<string> {
    if (this.state !== 'qr')
      throw new SandboxInvalidStateError(
        `Pairing needs a session waiting for a scan (now: ${describePhase(this.state)})`,
        this.sessionId,
      );
    this.pairing = { code: newPairingCode(), phone: onlyDigits(phoneDigits) };
    return this.pairing.code;
  }

  async logout(): Promise<void> {
    // As on WhatsApp: only a live connection can unlink the device; an ended one did nothing.
    if (this.state === 'ended')
      throw new SessionNotConnectedError(this.sessionId, statusOfPhase(this.state));
    this.end();
    await this.auth.clear();
  }

  async close(): Promise<void> {
    this.end();
  }

  /** The sandbox holds nothing back: it emits each event as it happens. */
  flushEvents(): void {}

  isLinked(): boolean {
    return this.me !== undefined;
  }

  /** Read receipts this device sent, oldest first (the last MAX_REMEMBERED_READS). */
  readonly readReceipts: WaReadKey[] = [];

  async markRead(keys: WaReadKey[]): Promise<void> {
    this.assertOpen();
    const bad = keys.find((k) => !k.remoteJid.includes('@'));
    if (bad) throw new Error(`Invalid JID "${bad.remoteJid}"`);
    this.readReceipts.push(...keys);
    this.readReceipts.splice(0, Math.max(0, this.readReceipts.length - MAX_REMEMBERED_READS));
  }

  async resyncContacts(): Promise<void> {
    this.assertOpen();
    const contacts = [...(this.contacts?.values() ?? [])];
    setImmediate(() => {
      if (this.state === 'open' && contacts.length) this.emit('contacts', contacts);
    });
  }

  // ---- the simulated phone / other side (driven by SandboxControl) ---------

  async scan(phone: string, profile: { pushName?: string; lid?: string } = {}): Promise<void> {
    if (this.state !== 'qr')
      throw new SandboxInvalidStateError(
        `Nothing to scan: the session is ${describePhase(this.state)}`,
        this.sessionId,
      );
    const digits = onlyDigits(phone);
    const creds: SandboxCreds = {
      sandbox: true,
      phone: digits,
      jid: phoneToJid(digits),
      ...profile,
    };
    await this.auth.writeCreds(creds);
    this.me = creds; // linked from here on, as WhatsApp lists the device
    // Real pairing: the server ends the stream with 515 and the client must reconnect with the new creds.
    this.end({
      code: CLOSE_CODES.restartRequired,
      reason: 'restartRequired',
      message: CLOSE_MESSAGES.restartRequired,
    });
  }

  async enterPairingCode(code: string): Promise<void> {
    if (!this.pairing || this.pairing.code !== code.replace(/[-\s]/g, '').toUpperCase())
      throw new InvalidPairingCodeError(this.sessionId);
    await this.scan(this.pairing.phone);
  }

  inbound(spec: SandboxInboundSpec): InboundMessage {
    const me = this.assertOpen();
    const message = buildSandboxInbound(spec, {
      me,
      lidToPn: (lid) => this.lids?.get(lid),
      storeMedia: (data) => this.hub.media.put(data),
    });
    this.emit('message', message);
    return message;
  }

  receipt(waMessageId: string, status: SandboxReceiptStatus, chatJid?: string): void {
    this.assertOpen();
    const chat = chatJid ?? this.sentChats?.get(waMessageId)?.chatJid;
    if (!chat) throw new SandboxUnknownMessageError(waMessageId);
    this.emit('status', { waMessageId, chatJid: chat, status, at: new Date() });
  }

  /** The phone read received messages of a chat: this device hears it (a `read-self` receipt). */
  readOnPhone(chatJid: string, waMessageIds: string[]): void {
    this.assertOpen();
    this.emit('readElsewhere', { chatJid, waMessageIds, at: new Date() });
  }

  async disconnect(reason: WaCloseReason): Promise<void> {
    if (this.state === 'ended')
      throw new SandboxInvalidStateError('The connection already ended', this.sessionId);
    // Unlinking on the phone invalidates the creds, as on WhatsApp.
    if (reason === 'loggedOut') await this.auth.clear();
    const code = reason === 'other' ? OTHER_CLOSE_CODE : CLOSE_CODES[reason];
    this.end({ code, reason, message: CLOSE_MESSAGES[reason] });
  }

  pushContact(input: {
    jid?: string;
    phone?: string;
    pushName?: string;
    name?: string;
    lid?: string;
  }): ContactInfo {
    this.assertOpen();
    const phone = input.phone
      ? onlyDigits(input.phone)
      : input.jid?.endsWith('@s.whatsapp.net')
        ? input.jid.split('@')[0]
        : undefined;
    const jid = input.jid ?? (phone ? phoneToJid(phone) : undefined);
    if (!jid)
      throw new SandboxInvalidStateError('pushContact needs a jid or a phone', this.sessionId);
    const contact: ContactInfo = {
      jid,
      ...(phone ? { phone } : {}),
      ...(input.lid ? { lid: input.lid } : {}),
      ...(input.pushName ? { notify: input.pushName } : {}),
      ...(input.name ? { name: input.name } : {}),
    };
    (this.contacts ??= new Map()).set(jid, contact);
    this.emit('contacts', [contact]);
    return contact;
  }

  /** The account is in group `chatJid`, named `subject`: WhatsApp announces it with its subject. */
  nameGroup(chatJid: string, subject: string): void {
    this.assertOpen();
    const group: ContactInfo = { jid: chatJid, name: subject };
    (this.contacts ??= new Map()).set(chatJid, group);
    this.emit('contacts', [group]);
  }

  revealLid(input: { phone: string; lid: string }): void {
    this.assertOpen();
    const pn = phoneToJid(onlyDigits(input.phone));
    const lid = input.lid.includes('@') ? input.lid : `${input.lid}@lid`;
    (this.lids ??= new Map()).set(lid, pn);
    this.emit('lidMapping', { lid, pn });
  }

  /** The quote reply `waMessageId` carried, as its recipient got it (undefined: none, or unknown). */
  sentQuote(waMessageId: string): SandboxSentQuote | undefined {
    this.assertOpen();
    return this.sentChats?.get(waMessageId)?.quote;
  }

  private rememberSend(waMessageId: string, chatJid: string, quote?: SandboxSentQuote): void {
    const sent = (this.sentChats ??= new Map());
    sent.set(waMessageId, { chatJid, ...(quote ? { quote } : {}) });
    if (sent.size > MAX_REMEMBERED_SENDS) sent.delete(sent.keys().next().value as string);
  }
}
