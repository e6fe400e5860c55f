/**
 * Engine-neutral shape of one WhatsApp message as seen by this account
 * (received, or sent from the linked phone when `fromMe`).
 */
export type InboundMessageType =
  | 'text'
  | 'image'
  | 'video'
  | 'audio'
  | 'voice'
  | 'document'
  | 'sticker'
  | 'location'
  | 'contact'
  | 'reaction'
  | 'poll'
  | 'revoke'
  | 'edit'
  | 'unknown';

/**
 * Opaque, JSON-serialisable handle that lets the SAME engine kind download
 * the media later (Baileys: the raw WAMessage; sandbox: a media key).
 */
export type MediaRef = Record<string, unknown>;

export interface InboundMedia {
  mimetype: string;
  fileName?: string;
  size?: number;
  seconds?: number;
  ref: MediaRef;
}

/**
 * How WhatsApp addressed a message (which may be a LID where we show the phone number): read
 * receipts go back to exactly this address.
 */
export interface WaMessageAddress {
  remoteJid: string;
  participant?: string;
}

export interface InboundMessage {
  waMessageId: string;
  chatJid: string;
  /** Author: the sender in a 1:1 chat, the participant in a group, our own jid when fromMe. */
  senderJid: string;
  senderPhone?: string;
  senderLid?: string;
  participant?: string;
  fromMe: boolean;
  pushName?: string;
  timestamp: Date;
  type: InboundMessageType;
  text?: string;
  caption?: string;
  quotedId?: string;
  media?: InboundMedia;
  location?: { lat: number; lng: number; name?: string };
  contact?: { displayName: string; vcard: string };
  reaction?: { emoji: string; targetId: string };
  poll?: { name: string; options: string[] };
  editedText?: string;
  /** Message a revoke/edit applies to. */
  targetId?: string;
  /** true when it came by history sync (an earlier message handed to a newly linked device), false when live (incl. the offline queue). */
  isHistory: boolean;
  /** Received messages: where their read receipt goes. */
  address?: WaMessageAddress;
}
