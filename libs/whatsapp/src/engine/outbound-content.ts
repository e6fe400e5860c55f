import type { InboundMessageType } from './inbound-message';

/**
 * The message a reply quotes, as the gateway stored it: its key, its author and what it said, so
 * the recipient's app shows who is quoted and what (WhatsApp carries the quoted content inside the
 * reply; the recipient does not look it up).
 */
export interface QuotedMessage {
  waMessageId: string;
  chatJid: string;
  fromMe: boolean;
  /**
   * Who wrote it, as WhatsApp addressed them (a group member, maybe by LID; the peer of a 1:1
   * chat). Absent for our own messages: the engine quotes its own account.
   */
  author?: string;
  type: InboundMessageType;
  /** Text messages: the text (as last edited). */
  text?: string;
  caption?: string;
  /** Media: the stored attachment's description (not its bytes or download keys). */
  media?: { mimetype: string; fileName?: string; seconds?: number };
  location?: { lat: number; lng: number; name?: string };
  contact?: { displayName: string; vcard: string };
  poll?: { name: string; options: string[] };
}

/** What callers can send through any engine. Media is always given as bytes. */
export interface OutboundCommon {
  replyTo?: QuotedMessage;
  mentions?: string[];
}

export interface OutboundText extends OutboundCommon {
  type: 'text';
  text: string;
}

export interface OutboundMedia extends OutboundCommon {
  type: 'image' | 'video' | 'audio' | 'document';
  buffer: Buffer;
  mimetype: string;
  caption?: string;
  fileName?: string;
  /** audio only: send as a voice note (push-to-talk). */
  voice?: boolean;
  seconds?: number;
}

export type OutboundContent = OutboundText | OutboundMedia;

export interface SendResult {
  waMessageId: string;
  timestamp: Date;
}
