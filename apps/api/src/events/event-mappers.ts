import type { WaSessionDeletedEvent, WaSessionQrEvent, WaSessionStatusEvent } from '@app/whatsapp';
import { toChatDto, toMessageDto } from '../messaging/message.mapper';
import type { MessageRecord } from '../messaging/message.types';
import type { ChatReadEvent, MessageStatusChangedEvent } from '../messaging/messaging.events';
import type { ContactUpdatedEvent, NewEvent } from './events.types';

const compact = (value: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== null));
const asRecord = (value: unknown) => value as unknown as Record<string, unknown>;

/**
 * `session.status` (SessionStatusEventDataDto): the SessionResponseDto fields the change carries,
 * plus `previousStatus`, always present: null on the session's first status event.
 */
export function sessionStatusEvent(e: WaSessionStatusEvent): NewEvent {
  return {
    type: 'session.status',
    organizationId: e.organizationId,
    sessionName: e.sessionName,
    occurredAt: new Date(e.at),
    data: {
      sessionId: e.sessionId,
      sessionName: e.sessionName,
      status: e.status,
      previousStatus: e.previousStatus ?? null,
      ...compact({ phone: e.phone, jid: e.jid, lastError: e.lastError }),
      statusChangedAt: new Date(e.at),
    },
    // A change announced again after a crash (StatusWriter.announceMissed) is recorded once; its
    // time (a session's changes are dated apart, see StatusWriter) and status tell it from others.
    sourceKey: `session.status:${e.sessionId}:${new Date(e.at).getTime()}:${e.status}`,
  };
}

/** `session.qr`: the QrResponseDto shape plus the session's name and id. */
export function sessionQrEvent(e: WaSessionQrEvent, now = new Date()): NewEvent {
  return {
    type: 'session.qr',
    organizationId: e.organizationId,
    sessionName: e.sessionName,
    occurredAt: now,
    data: {
      sessionId: e.sessionId,
      sessionName: e.sessionName,
      status: 'qr_ready',
      qr: e.qr,
      expiresAt: new Date(e.expiresAt),
    },
  };
}

/**
 * `session.deleted` (SessionDeletedEventDataDto): the session is gone; its messages and contacts
 * stay. Its logout came before it as a `session.status` (none when it was logged out already).
 */
export function sessionDeletedEvent(e: WaSessionDeletedEvent): NewEvent {
  const at = new Date(e.at);
  return {
    type: 'session.deleted',
    organizationId: e.organizationId,
    sessionName: e.sessionName,
    occurredAt: at,
    data: {
      sessionId: e.sessionId,
      sessionName: e.sessionName,
      ...compact({ phone: e.phone }),
      deletedAt: at,
    },
    // A session is deleted once: the one created again under its name later is another (its own
    // creation time), so only a second announcement of the same deletion is dropped.
    sourceKey: `session.deleted:${e.sessionId}:${new Date(e.createdAt).getTime()}`,
  };
}

/**
 * A newly stored message: `message.received` when it came in; `message.sent` when it was sent from
 * the phone itself (stored already `sent`). Messages accepted by the API (pending) produce their
 * `message.sent` on the status change instead. History-sync messages are not announced.
 */
export function messageCreatedEvent(m: MessageRecord): NewEvent | undefined {
  // Earlier messages handed over by history sync are stored, not news.
  if (m.history) return undefined;
  // Only a message sent from the phone is stored already sent. One sent through the API (it has
  // `attempts`) is announced by its status change: a crash replay of its first store, which reads
  // it as sent by then, must not announce it a second time.
  const fromPhone = m.direction === 'out' && m.attempts === undefined && m.status === 'sent';
  const type = m.direction === 'in' ? 'message.received' : fromPhone ? 'message.sent' : undefined;
  if (!type) return undefined;
  return {
    type,
    organizationId: String(m.organizationId),
    sessionName: m.sessionName,
    occurredAt: new Date(m.createdAt ?? m.timestamp),
    data: asRecord(toMessageDto(m)),
    // A message's first store is announced once, also when a crash recovery replays it.
    sourceKey: `message.created:${String(m._id)}`,
  };
}

/** `message.sent` when a message becomes sent; `message.status` for delivered, read, played and failed. */
export function messageStatusEvent(e: MessageStatusChangedEvent): NewEvent | undefined {
  const type =
    e.status === 'sent' ? 'message.sent' : e.status === 'pending' ? undefined : 'message.status';
  if (!type) return undefined;
  const m = e.message;
  return {
    type,
    organizationId: String(m.organizationId),
    sessionName: m.sessionName,
    occurredAt: new Date(e.at),
    data: asRecord(toMessageDto(m)),
    // A status is reached once (forward only): a replay after a crash is not announced twice.
    sourceKey: `message.status:${String(m._id)}:${e.status}`,
  };
}

/** `contact.updated`: the ContactResponseDto (organizationId stays in the envelope). */
export function contactUpdatedEvent(
  e: ContactUpdatedEvent,
  now = new Date(),
): NewEvent | undefined {
  const { organizationId, ...contact } = e.contact ?? {};
  if (!organizationId) return undefined;
  const occurredAt = contact.updatedAt ? new Date(contact.updatedAt as string) : now;
  return {
    type: 'contact.updated',
    organizationId: String(organizationId),
    sessionName: typeof contact.sessionName === 'string' ? contact.sessionName : '',
    occurredAt: Number.isNaN(occurredAt.getTime()) ? now : occurredAt,
    data: contact,
    // A follow's replay announces its contacts again: each state (revision) once per follow.
    ...(e.followNote
      ? { sourceKey: `contact.updated:${e.followNote}:${String(contact.id)}:${contact.revision}` }
      : {}),
  };
}

/** `chat.read`: how many received messages became read, where, and the chat (ChatResponseDto) after. */
export function chatReadEvent(e: ChatReadEvent): NewEvent {
  return {
    type: 'chat.read',
    organizationId: String(e.chat.organizationId),
    sessionName: e.chat.sessionName,
    occurredAt: new Date(e.at),
    data: { marked: e.marked, readOn: e.readOn, chat: asRecord(toChatDto(e.chat)) },
  };
}
