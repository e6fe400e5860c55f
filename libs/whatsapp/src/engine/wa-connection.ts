import type { Readable } from 'node:stream';
import type { WaAuthStore } from '../auth-state/wa-auth-store';
import type { WaCloseInfo } from './close-reason';
import type { InboundMessage, MediaRef, WaMessageAddress } from './inbound-message';
import type { OutboundContent, SendResult } from './outbound-content';
import type { TypedEmitter } from './typed-emitter';
import type { WaLogger } from './wa-logger';

export const WA_ENGINE_FACTORY = Symbol('WA_ENGINE_FACTORY');

/** baileys: real WhatsApp; sandbox: simulated engine; emulator: the real Baileys engine against an in-process WhatsApp emulator. */
export type WaEngineKind = 'baileys' | 'sandbox' | 'emulator';

export type WaMessageAck = 'sent' | 'delivered' | 'read' | 'played' | 'failed';

/** A received message to report as read: its id and the address it came from. */
export interface WaReadKey extends WaMessageAddress {
  waMessageId: string;
}

export interface WaOpenInfo {
  jid: string;
  lid?: string;
  phone: string;
  pushName?: string;
}

/**
 * Received messages of one chat that another device of the account (the phone) read or played:
 * they are no longer unread here either. Their receipts already went to the senders.
 */
export interface WaReadElsewhere {
  chatJid: string;
  waMessageIds: string[];
  at: Date;
}

export interface WaStatusUpdate {
  waMessageId: string;
  chatJid: string;
  status: WaMessageAck;
  at: Date;
}

export interface ContactInfo {
  jid: string;
  lid?: string;
  phone?: string;
  /** Name saved in the linked phone's address book. */
  name?: string;
  /** Name the contact set for themselves (pushName). */
  notify?: string;
  verifiedName?: string;
  isBusiness?: boolean;
  imgUrl?: string;
}

export interface LidMapping {
  lid: string;
  pn: string;
}

export type WaConnectionEvents = {
  connecting: [];
  qr: [qr: string];
  open: [info: WaOpenInfo];
  close: [info: WaCloseInfo];
  message: [message: InboundMessage];
  status: [update: WaStatusUpdate];
  readElsewhere: [read: WaReadElsewhere];
  contacts: [contacts: ContactInfo[]];
  lidMapping: [mapping: LidMapping];
};

/**
 * One live WhatsApp Web connection. Events are never emitted synchronously
 * from `create()`, so listeners attached right after creation see everything.
 * After `close()` or `logout()` the connection emits nothing more.
 */
export interface WaConnection extends Pick<
  TypedEmitter<WaConnectionEvents>,
  'on' | 'off' | 'removeAllListeners'
> {
  sendMessage(to: string, content: OutboundContent): Promise<SendResult>;
  /**
   * The media's bytes as a stream, to be stored chunk by chunk (never held whole); the stream
   * fails with MediaExceedsLimitError once more than `maxBytes` went through it.
   */
  downloadMedia(ref: MediaRef, maxBytes: number): Promise<Readable>;
  /** Digits only, with country code. */
  requestPairingCode(phoneDigits: string): Promise<string>;
  /** Unlink this device on WhatsApp, then end the connection. */
  logout(): Promise<void>;
  /**
   * The connection runs on creds WhatsApp linked: it logged in with them, or a scan or pairing
   * code just linked them (WhatsApp lists the device from then on, before the connection that logs
   * in with them opens). False while it shows a QR nobody scanned.
   */
  isLinked(): boolean;
  /** End the connection, keep the link (creds stay valid). */
  close(): Promise<void>;
  /**
   * Emits at once the events the engine still holds back (Baileys buffers some for up to 30 s,
   * messages whose receipts WhatsApp already has among them): called before a close of ours.
   */
  flushEvents(): void;
  resyncContacts(): Promise<void>;
  /** Send read receipts (blue ticks, where the account's privacy settings allow) for received messages. */
  markRead(keys: WaReadKey[]): Promise<void>;
}

export interface WaEngineCreateOptions {
  sessionId: string;
  auth: WaAuthStore;
  logger: WaLogger;
}

export interface WaEngineFactory {
  readonly kind: WaEngineKind;
  create(opts: WaEngineCreateOptions): WaConnection;
}
