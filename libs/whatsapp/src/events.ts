import type { InboundMessage } from './engine/inbound-message';
import type { ContactInfo, WaMessageAck, WaReadElsewhere } from './engine/wa-connection';
import type { WaSessionStatus } from './session-state/session-state';

/** Domain event names emitted on EventEmitter2 by the SessionRegistry. */
export const WA_EVENTS = {
  sessionStatus: 'wa.session.status',
  sessionQr: 'wa.session.qr',
  sessionDeleted: 'wa.session.deleted',
  messageReceived: 'wa.message.received',
  messageStatus: 'wa.message.status',
  messagesReadElsewhere: 'wa.messages.read-elsewhere',
  contactsUpserted: 'wa.contacts.upserted',
  lidMapping: 'wa.lid.mapping',
} as const;

interface SessionRef {
  sessionId: string;
  organizationId: string;
  sessionName: string;
}

export interface WaSessionStatusEvent extends SessionRef {
  status: WaSessionStatus;
  /** null on the session's first status event: the status it was created with is never announced. */
  previousStatus: WaSessionStatus | null;
  lastError?: string;
  /** Present when status is `connected`. */
  phone?: string;
  jid?: string;
  at: Date;
  /**
   * Announced late: a crash cut off its first announcement. For the record (the event log);
   * not a change to act on now.
   */
  replayed?: boolean;
}

export interface WaSessionQrEvent extends SessionRef {
  /** PNG data URL. */
  qr: string;
  expiresAt: Date;
}

/** A session's document was deleted (after its logout): once per deletion, by whoever deleted it. */
export interface WaSessionDeletedEvent extends SessionRef {
  /** The number it was linked to last, when it had one. */
  phone?: string;
  /** When the deleted session was created: tells one deletion of a name from a later one. */
  createdAt: Date;
  at: Date;
  /** Announced late: a crash or a failed event write cut off its first announcement. */
  replayed?: boolean;
}

export interface WaMessageReceivedEvent extends SessionRef {
  message: InboundMessage;
}

export interface WaMessageStatusEvent extends SessionRef {
  waMessageId: string;
  chatJid: string;
  status: WaMessageAck;
  at: Date;
}

/** Received messages read on another device of the account (the phone). */
export interface WaMessagesReadElsewhereEvent extends SessionRef, WaReadElsewhere {}

export interface WaContactsUpsertedEvent extends SessionRef {
  contacts: ContactInfo[];
}

export interface WaLidMappingEvent extends SessionRef {
  lid: string;
  pn: string;
}

export interface WaEventPayloads {
  [WA_EVENTS.sessionStatus]: WaSessionStatusEvent;
  [WA_EVENTS.sessionQr]: WaSessionQrEvent;
  [WA_EVENTS.sessionDeleted]: WaSessionDeletedEvent;
  [WA_EVENTS.messageReceived]: WaMessageReceivedEvent;
  [WA_EVENTS.messageStatus]: WaMessageStatusEvent;
  [WA_EVENTS.messagesReadElsewhere]: WaMessagesReadElsewhereEvent;
  [WA_EVENTS.contactsUpserted]: WaContactsUpsertedEvent;
  [WA_EVENTS.lidMapping]: WaLidMappingEvent;
}
