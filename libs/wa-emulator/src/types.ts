import type { proto } from '@whiskeysockets/baileys';
import type { EmulatorMediaType } from './media-crypto';

export interface WaEmulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Port of the HTTPS media host (uploads); 0 (default) picks a free port. */
  mediaPort?: number;
  host?: string;
  /** Persist accounts, linked devices, Signal state and media here; in memory when omitted. */
  dataDir?: string;
  /** Diagnostic log sink (default: silent). */
  log?: (message: string, details?: Record<string, unknown>) => void;
  /** Contacts answer outbound messages by themselves: delivery receipt after `deliveredMs`, read after `readMs`. */
  autoReceipts?: { deliveredMs?: number; readMs?: number };
}

export type ReceiptType = 'delivered' | 'read' | 'played';

/** Who sends a receipt for an outbound message, and to whom. */
export interface ReceiptOptions {
  /** Only this companion of the account (default: every live one). */
  deviceId?: number;
  /**
   * The chat the message went to (a contact's JID or a group). Needed for a message the emulator
   * did not record (sent before a restart: outbound records are kept in memory only).
   */
  chat?: string;
  /** Group messages: the member who received / read / played it (default: the first other member). */
  from?: string;
}

/** A message a linked device sent, as the recipient decrypted it. */
export interface OutboundRecord {
  id: string;
  /** Sending account (phone digits) and its companion device id. */
  account: string;
  deviceId: number;
  /** The `to` of the stanza (PN or LID JID of the chat). */
  to: string;
  /**
   * Recipient contact's phone digits (its `…@lid` JID when WhatsApp knows it only by LID); the
   * group JID for a message to a group.
   */
  recipient: string;
  message: proto.IMessage;
  text?: string;
  /** Media messages: the file as the recipient downloaded and decrypted it from the media host. */
  media?: OutboundMedia;
  at: Date;
}

/** The attachment of an outbound media message, fetched from the emulator's media host and decrypted. */
export interface OutboundMedia {
  type: EmulatorMediaType;
  mimetype?: string;
  fileName?: string;
  caption?: string;
  /** Voice note (audio with ptt). */
  ptt?: boolean;
  /** The plaintext; set only when fileEncSha256, the MAC and fileSha256 all check out. */
  data?: Buffer;
  /** Why `data` is missing (upload not found, hash or MAC mismatch…). */
  error?: string;
}

/** A receipt the linked device sent for an inbound message. */
export interface ClientReceiptRecord {
  account: string;
  id: string;
  to: string;
  type: string;
}

export interface InboundOptions {
  /** Address the message by the contact's phone JID (default) or by its LID. */
  via?: 'pn' | 'lid';
  id?: string;
  pushName?: string;
  /** Deliver to this linked device of the account only (default: every linked device, as WhatsApp does). */
  deviceId?: number;
  /**
   * Send the first `n` copies (the first delivery, then resends) with a garbled payload the device
   * cannot decrypt, so it answers with retry receipts (default 0).
   */
  undecryptableCopies?: number;
  /** The server time stamped on the message (`t`); default now. */
  timestamp?: Date;
}

export interface PairResult {
  jid: string;
  lid: string;
  deviceId: number;
}

export type PairingProfile = { pushName?: string; lid?: string };
