import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { ContactResponseDto } from './dto/contact.dto';
import { toContactDto } from './contact.mapper';
import type { ContactRecord } from './contacts.repository';

/** Emitted after a contact's visible fields changed (sync, LID merge, customer link, user edit). */
export const CONTACTS_EVENTS = { updated: 'contacts.contact.updated' } as const;

export interface ContactUpdatedEvent {
  contact: ContactResponseDto & { organizationId: string };
}

@Injectable()
export class ContactEventsPublisher {
  constructor(private readonly events: EventEmitter2) {}

  /**
   * Awaited, so subscribers (the event outbox) have them before the caller goes on. Emitted in one
   * go, in order, so the outbox writes them together.
   */
  async updated(contacts: (ContactRecord | null | undefined)[]): Promise<void> {
    await Promise.all(
      contacts.flatMap((contact) => {
        if (!contact) return [];
        const event: ContactUpdatedEvent = {
          contact: { ...toContactDto(contact), organizationId: contact.organizationId },
        };
        return [this.events.emitAsync(CONTACTS_EVENTS.updated, event)];
      }),
    );
  }
}
