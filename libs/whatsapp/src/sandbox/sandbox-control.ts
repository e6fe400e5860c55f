import { Inject, Injectable, Optional } from '@nestjs/common';
import type { WaCloseReason } from '../engine/close-reason';
import type { InboundMessage } from '../engine/inbound-message';
import type { ContactInfo } from '../engine/wa-connection';
import { EmulatorBackend } from '../emulator/emulator-backend';
import { EmulatorSandboxControl } from '../emulator/emulator-sandbox-control';
import type { SandboxReceiptStatus, SandboxSentQuote } from './sandbox-connection';
import { SandboxHub } from './sandbox-hub';
import type { SandboxInboundSpec } from './sandbox-inbound';

/**
 * What POST …/sandbox/sessions/:name/inbound answers: the WhatsApp id of the simulated message and its
 * chat. The sandbox back-end also returns the whole normalized message; the emulator back-end cannot
 * (Baileys produces it later, after decryption).
 */
export type SandboxInboundAccepted = Pick<InboundMessage, 'waMessageId' | 'chatJid'> &
  Partial<InboundMessage>;

/**
 * The simulated phone and contacts of a session, whichever engine plays them: the sandbox engine
 * (SandboxHub, everything in memory) or the real Baileys engine against the in-process WhatsApp
 * emulator (engine = 'emulator'). Every method throws SandboxSessionNotLiveError when the session
 * has no live connection.
 */
export interface SandboxControlBackend {
  /** The phone scans the current QR → creds stored → close(515) → the registry reconnects → open. */
  scan(
    sessionId: string,
    phone: string,
    profile?: { pushName?: string; lid?: string },
  ): Promise<void>;
  /** The user types the pairing code (from requestPairingCode) on the phone. */
  enterPairingCode(sessionId: string, code: string): Promise<void>;
  /** A contact sends a message; validation errors are thrown here, delivery may complete later. */
  inbound(sessionId: string, spec: SandboxInboundSpec): SandboxInboundAccepted;
  receipt(
    sessionId: string,
    waMessageId: string,
    status: SandboxReceiptStatus,
    chatJid?: string,
  ): void;
  /** The linked phone reads received messages of a chat (`chatJid` as WhatsApp addressed them). */
  readOnPhone(sessionId: string, chatJid: string, waMessageIds: string[]): void;
  disconnect(sessionId: string, reason: WaCloseReason): Promise<void>;
  pushContact(
    sessionId: string,
    contact: { jid?: string; phone?: string; pushName?: string; name?: string; lid?: string },
  ): ContactInfo;
  revealLid(sessionId: string, mapping: { phone: string; lid: string }): void;
  /** The account is in group `chatJid`, named `subject` (created, joined or renamed). */
  nameGroup(sessionId: string, chatJid: string, subject: string): void;
  /** WhatsApp ids of the received messages the session's device reported read, oldest first. */
  readReceipts(sessionId: string): string[];
  /**
   * The quote the session's sent message `waMessageId` carried, as its recipient got it; undefined
   * when it quoted nothing or did not reach the recipient (yet).
   */
  sentQuote(sessionId: string, waMessageId: string): SandboxSentQuote | undefined;
  isLive(sessionId: string): boolean;
  /** 'qr' | 'open' | 'starting' when live. */
  phase(sessionId: string): string | undefined;
}

/** The sandbox engine's back-end: drives the live SandboxConnections directly. */
export class HubSandboxControl implements SandboxControlBackend {
  constructor(private readonly hub: SandboxHub) {}

  scan(
    sessionId: string,
    phone: string,
    profile?: { pushName?: string; lid?: string },
  ): Promise<void> {
    return this.hub.getOrThrow(sessionId).scan(phone, profile);
  }

  enterPairingCode(sessionId: string, code: string): Promise<void> {
    return this.hub.getOrThrow(sessionId).enterPairingCode(code);
  }

  inbound(sessionId: string, spec: SandboxInboundSpec): SandboxInboundAccepted {
    return this.hub.getOrThrow(sessionId).inbound(spec);
  }

  receipt(
    sessionId: string,
    waMessageId: string,
    status: SandboxReceiptStatus,
    chatJid?: string,
  ): void {
    this.hub.getOrThrow(sessionId).receipt(waMessageId, status, chatJid);
  }

  readOnPhone(sessionId: string, chatJid: string, waMessageIds: string[]): void {
    this.hub.getOrThrow(sessionId).readOnPhone(chatJid, waMessageIds);
  }

  disconnect(sessionId: string, reason: WaCloseReason): Promise<void> {
    return this.hub.getOrThrow(sessionId).disconnect(reason);
  }

  pushContact(
    sessionId: string,
    contact: { jid?: string; phone?: string; pushName?: string; name?: string; lid?: string },
  ): ContactInfo {
    return this.hub.getOrThrow(sessionId).pushContact(contact);
  }

  revealLid(sessionId: string, mapping: { phone: string; lid: string }): void {
    this.hub.getOrThrow(sessionId).revealLid(mapping);
  }

  nameGroup(sessionId: string, chatJid: string, subject: string): void {
    this.hub.getOrThrow(sessionId).nameGroup(chatJid, subject);
  }

  readReceipts(sessionId: string): string[] {
    return this.hub.getOrThrow(sessionId).readReceipts.map((k) => k.waMessageId);
  }

  sentQuote(sessionId: string, waMessageId: string): SandboxSentQuote | undefined {
    return this.hub.getOrThrow(sessionId).sentQuote(waMessageId);
  }

  isLive(sessionId: string): boolean {
    return this.hub.get(sessionId) !== undefined;
  }

  phase(sessionId: string): string | undefined {
    return this.hub.get(sessionId)?.phase;
  }
}

/**
 * Drives the simulated phone and contacts of live sessions (the sandbox control routes).
 * Backed by the emulator when it runs (engine = 'emulator'), by the sandbox hub otherwise.
 */
@Injectable()
export class SandboxControl implements SandboxControlBackend {
  private readonly backend: SandboxControlBackend;

  constructor(hub: SandboxHub, @Optional() @Inject(EmulatorBackend) emulator?: EmulatorBackend) {
    this.backend = emulator?.enabled
      ? new EmulatorSandboxControl(emulator)
      : new HubSandboxControl(hub);
  }

  /** 'emulator' when the real Baileys engine and the WhatsApp emulator play the phone, else 'sandbox'. */
  get kind(): 'sandbox' | 'emulator' {
    return this.backend instanceof EmulatorSandboxControl ? 'emulator' : 'sandbox';
  }

  scan(
    sessionId: string,
    phone: string,
    profile?: { pushName?: string; lid?: string },
  ): Promise<void> {
    return this.backend.scan(sessionId, phone, profile);
  }

  enterPairingCode(sessionId: string, code: string): Promise<void> {
    return this.backend.enterPairingCode(sessionId, code);
  }

  inbound(sessionId: string, spec: SandboxInboundSpec): SandboxInboundAccepted {
    return this.backend.inbound(sessionId, spec);
  }

  receipt(
    sessionId: string,
    waMessageId: string,
    status: SandboxReceiptStatus,
    chatJid?: string,
  ): void {
    this.backend.receipt(sessionId, waMessageId, status, chatJid);
  }

  readOnPhone(sessionId: string, chatJid: string, waMessageIds: string[]): void {
    this.backend.readOnPhone(sessionId, chatJid, waMessageIds);
  }

  disconnect(sessionId: string, reason: WaCloseReason): Promise<void> {
    return this.backend.disconnect(sessionId, reason);
  }

  pushContact(
    sessionId: string,
    contact: { jid?: string; phone?: string; pushName?: string; name?: string; lid?: string },
  ): ContactInfo {
    return this.backend.pushContact(sessionId, contact);
  }

  revealLid(sessionId: string, mapping: { phone: string; lid: string }): void {
    this.backend.revealLid(sessionId, mapping);
  }

  nameGroup(sessionId: string, chatJid: string, subject: string): void {
    this.backend.nameGroup(sessionId, chatJid, subject);
  }

  readReceipts(sessionId: string): string[] {
    return this.backend.readReceipts(sessionId);
  }

  sentQuote(sessionId: string, waMessageId: string): SandboxSentQuote | undefined {
    return this.backend.sentQuote(sessionId, waMessageId);
  }

  isLive(sessionId: string): boolean {
    return this.backend.isLive(sessionId);
  }

  phase(sessionId: string): string | undefined {
    return this.backend.phase(sessionId);
  }
}
