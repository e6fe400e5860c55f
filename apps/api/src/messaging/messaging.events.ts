import type { ChatRecord } from './chats.repository';
import type { MessageRecord, MessageStatus } from './message.types';

/** Events Messaging emits after the database write (EventEmitter2). Contacts, Stats and webhooks listen. */
export const MESSAGING_EVENTS = {
  /**
   * Messages were stored for the first time (inbound, fromMe from the phone, or accepted for
   * sending): one event per ingest batch, all of one session, in arrival order.
   */
  created: 'messaging.messages.created',
  /**
   * A stored message's status moved forward. Emitted once per real transition; after a crash,
   * possibly once more for the status the message has (MessageEffectsRecovery).
   */
  statusChanged: 'messaging.message.status',
  /** Received messages of a chat were marked read, through the API or on the phone. */
  chatRead: 'messaging.chat.read',
} as const;

/** A write-ahead note: the ids of messages stored together, whose effects run (or replay) together. */
export interface CreationNote {
  id: string;
  messageIds: readonly string[];
}

export interface MessagesCreatedEvent {
  sessionId: string;
  messages: MessageRecord[];
  /**
   * The notes the messages were stored under (each message is in exactly one). A crash replay
   * brings a note again with the same id, so a listener can claim work once per note.
   */
  notes: readonly CreationNote[];
  /**
   * A recovery replay after a crash: some effects may already have run for these messages, so
   * listeners that count (not idempotent) recount instead.
   */
  replayed?: boolean;
}

export interface MessageStatusChangedEvent {
  message: MessageRecord;
  status: MessageStatus;
  at: Date;
  /** Emitted again by MessageEffectsRecovery: a crash cut off the effects of this change. */
  replayed?: true;
}

/** Where a chat was read: through the gateway (POST /whatsapp/chats/read) or on the phone. */
export type ChatReadOn = 'gateway' | 'phone';

export interface ChatReadEvent {
  /** The chat after the read, with its new unread count. */
  chat: ChatRecord;
  /** How many received messages became read. */
  marked: number;
  readOn: ChatReadOn;
  at: Date;
}
