import { CONTACTS_EVENTS } from '../contacts/contacts.events';
/** Public event types (webhooks and the SSE stream). */
export const EVENT_TYPES = [
  'session.status',
  'session.qr',
  'session.deleted',
  'message.received',
  'message.sent',
  'message.status',
  'chat.read',
  'contact.updated',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];
export const isEventType = (value: string): value is EventType =>
  (EVENT_TYPES as readonly string[]).includes(value);

/**
 * The contact event Contacts emits after writing a contact (user edit, sync, customer link).
 * Payload: `{ contact }`, a ContactResponseDto-shaped object plus `organizationId` (and `sessionName`).
 */
export const CONTACT_UPDATED_EVENT = CONTACTS_EVENTS.updated;
export interface ContactUpdatedEvent {
  contact: Record<string, unknown> & { organizationId: string; sessionName?: string };
  /** A customer change's follow that replays what it announces (see LinkFollowNote). */
  followNote?: string;
}

/** What every consumer sees: webhook body, SSE `data:`. `id` is unique and time-ordered (dedupe key). */
export interface EventEnvelope {
  id: string;
  type: EventType;
  organizationId: string;
  sessionName: string;
  occurredAt: string;
  data: Record<string, unknown>;
}

/** An event before it is stored (the outbox assigns the id). */
export interface NewEvent {
  type: EventType;
  organizationId: string;
  sessionName: string;
  occurredAt: Date;
  data: Record<string, unknown>;
  /** What this event announces, for events that must be stored once: a repeated key is dropped. */
  sourceKey?: string;
}

/** A stored event as the outbox hands it to subscribers and streams. */
export interface StoredEvent extends NewEvent {
  id: string;
  /**
   * Position in the organization's event sequence (one counter in the database, shared by every
   * instance): the order live streams deliver in. Absent on events stored before it existed.
   */
  seq?: number;
}

export function toEnvelope(event: StoredEvent): EventEnvelope {
  return {
    id: event.id,
    type: event.type,
    organizationId: event.organizationId,
    sessionName: event.sessionName,
    occurredAt: new Date(event.occurredAt).toISOString(),
    data: event.data,
  };
}
