import { Injectable } from '@nestjs/common';
import type { InboundMessage } from '../engine/inbound-message';
import type { WaCloseReason } from '../engine/close-reason';
import type { ContactInfo } from '../engine/wa-connection';
import type { SandboxReceiptStatus } from './sandbox-connection';
import { SandboxHub } from './sandbox-hub';
import type { SandboxInboundSpec } from './sandbox-inbound';

/**
 * Drives the simulated phone and contacts of live sandbox sessions.
 * Every method throws SandboxSessionNotLiveError when the session has no live sandbox connection.
 */
@Injectable()
export class SandboxControl {
  constructor(private readonly hub: SandboxHub) {}

  /** The phone scans the current QR → creds stored → close(515) → the registry reconnects → open. */
  scan(sessionId: string, phone: string, profile?: { pushName?: string; lid?: string }): Promise<void> {
    return this.hub.getOrThrow(sessionId).scan(phone, profile);
  }

  /** The user types the pairing code (from requestPairingCode) on the phone. */
  enterPairingCode(sessionId: string, code: string): Promise<void> {
    return this.hub.getOrThrow(sessionId).enterPairingCode(code);
  }

  inbound(sessionId: string, spec: SandboxInboundSpec): InboundMessage {
    return this.hub.getOrThrow(sessionId).inbound(spec);
  }

  receipt(sessionId: string, waMessageId: string, status: SandboxReceiptStatus, chatJid?: string): void {
    this.hub.getOrThrow(sessionId).receipt(waMessageId, status, chatJid);
  }

  disconnect(sessionId: string, reason: WaCloseReason): Promise<void> {
    return this.hub.getOrThrow(sessionId).disconnect(reason);
  }

  pushContact(sessionId: string, contact: { jid?: string; phone?: string; pushName?: string; name?: string; lid?: string }): ContactInfo {
    return this.hub.getOrThrow(sessionId).pushContact(contact);
  }

  revealLid(sessionId: string, mapping: { phone: string; lid: string }): void {
    this.hub.getOrThrow(sessionId).revealLid(mapping);
  }

  isLive(sessionId: string): boolean {
    return this.hub.get(sessionId) !== undefined;
  }

  /** 'qr' | 'open' | 'starting' when live. */
  phase(sessionId: string): string | undefined {
    return this.hub.get(sessionId)?.phase;
  }
}
