/** What callers can send through any engine. Media is always given as bytes. */
export interface OutboundCommon {
  replyTo?: { waMessageId: string; chatJid: string; fromMe: boolean };
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
