import { Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import {
  WA_EVENTS,
  type WaSessionDeletedEvent,
  type WaSessionQrEvent,
  type WaSessionStatusEvent,
} from '@app/whatsapp';
import {
  type ChatReadEvent,
  MESSAGING_EVENTS,
  type MessagesCreatedEvent,
  type MessageStatusChangedEvent,
} from '../messaging/messaging.events';
import { EventOutboxService } from './event-outbox.service';
import {
  chatReadEvent,
  contactUpdatedEvent,
  messageCreatedEvent,
  messageStatusEvent,
  sessionDeletedEvent,
  sessionQrEvent,
  sessionStatusEvent,
} from './event-mappers';
import { CONTACT_UPDATED_EVENT, type ContactUpdatedEvent, type NewEvent } from './events.types';

/**
 * Turns domain events into outbox rows. Each handler maps and enqueues synchronously (so events
 * keep their emission order) and awaits the write: a producer that uses `emitAsync` (Messaging)
 * continues only once the event is durable. A failed write is logged; it is thrown into the
 * producer only for messages created and status changes, whose producers keep a note of effects
 * still to run that MessageEffectsRecovery replays (the event's sourceKey drops a second copy),
 * for contacts announced by a customer change's follow (CustomerLinksRecovery replays it), and for
 * session deletions (the registry's deletion note, replayed at boot and periodically).
 * Otherwise the note would be closed and the event lost. Other producers' own write has happened.
 */
const LISTENER = { async: true, promisify: true } as const;
const REPLAYED = 'replays' as const;
/** For the handlers that throw a failed write (Nest's emitter logs and swallows errors otherwise). */
const REPLAYED_LISTENER = { ...LISTENER, suppressErrors: false } as const;

@Injectable()
export class EventsListener {
  private readonly log = new Logger(EventsListener.name);

  constructor(private readonly outbox: EventOutboxService) {}

  @OnEvent(WA_EVENTS.sessionStatus, LISTENER)
  onSessionStatus(event: WaSessionStatusEvent): Promise<void> {
    return this.record(WA_EVENTS.sessionStatus, () => sessionStatusEvent(event));
  }

  @OnEvent(WA_EVENTS.sessionQr, LISTENER)
  onSessionQr(event: WaSessionQrEvent): Promise<void> {
    return this.record(WA_EVENTS.sessionQr, () => sessionQrEvent(event));
  }

  @OnEvent(WA_EVENTS.sessionDeleted, REPLAYED_LISTENER)
  onSessionDeleted(event: WaSessionDeletedEvent): Promise<void> {
    return this.record(WA_EVENTS.sessionDeleted, () => sessionDeletedEvent(event), REPLAYED);
  }

  @OnEvent(MESSAGING_EVENTS.created, REPLAYED_LISTENER)
  async onMessagesCreated(event: MessagesCreatedEvent): Promise<void> {
    // All appended in this tick, so they keep their order and share one outbox write.
    await Promise.all(
      event.messages.map((m) =>
        this.record(MESSAGING_EVENTS.created, () => messageCreatedEvent(m), REPLAYED),
      ),
    );
  }

  @OnEvent(MESSAGING_EVENTS.statusChanged, REPLAYED_LISTENER)
  onMessageStatus(event: MessageStatusChangedEvent): Promise<void> {
    return this.record(MESSAGING_EVENTS.statusChanged, () => messageStatusEvent(event), REPLAYED);
  }

  @OnEvent(MESSAGING_EVENTS.chatRead, LISTENER)
  onChatRead(event: ChatReadEvent): Promise<void> {
    return this.record(MESSAGING_EVENTS.chatRead, () => chatReadEvent(event));
  }

  @OnEvent(CONTACT_UPDATED_EVENT, REPLAYED_LISTENER)
  onContactUpdated(event: ContactUpdatedEvent): Promise<void> {
    return this.record(
      CONTACT_UPDATED_EVENT,
      () => contactUpdatedEvent(event),
      event?.followNote ? REPLAYED : undefined,
    );
  }

  private async record(
    source: string,
    map: () => NewEvent | undefined,
    producer: 'replays' | 'does-not-replay' = 'does-not-replay',
  ): Promise<void> {
    let event: NewEvent | undefined;
    try {
      event = map();
      if (event) await this.outbox.append(event);
    } catch (err) {
      this.log.error({ err, source }, `Failed to record the public event for ${source}`);
      // A mapping error would fail every replay too: only a failed write is the producer's to retry.
      if (event && producer === 'replays') throw err;
    }
  }
}
