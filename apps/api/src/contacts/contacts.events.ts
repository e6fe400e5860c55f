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

  /** Awaited, so subscribers (the event outbox) have it before the caller goes on. */
  async updated(contacts: (ContactRecord | null | undefined)[]): Promise<void> {
    for (const contact of contacts) {
      if (!contact) continue;
      const event: ContactUpdatedEvent = {
        contact: { ...toContactDto(contact), organizationId: contact.organizationId },
      };
      await this.events.emitAsync(CONTACTS_EVENTS.updated, event);
    }
  }
}
