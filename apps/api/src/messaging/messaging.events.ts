import type { MessageRecord, MessageStatus } from './message.types';

/** Events Messaging emits after the database write (EventEmitter2). Contacts, Stats and webhooks listen. */
export const MESSAGING_EVENTS = {
  /**
   * Messages were stored for the first time (inbound, fromMe from the phone, or accepted for
   * sending): one event per ingest batch, all of one session, in arrival order.
   */
  created: 'messaging.messages.created',
  /** A stored message's status moved forward. Emitted once per real transition. */
  statusChanged: 'messaging.message.status',
} as const;

export interface MessagesCreatedEvent {
  sessionId: string;
  messages: MessageRecord[];
}

export interface MessageStatusChangedEvent {
  message: MessageRecord;
  previousStatus: MessageStatus;
  status: MessageStatus;
  at: Date;
}
