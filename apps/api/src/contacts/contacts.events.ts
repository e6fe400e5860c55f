import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { ContactResponseDto } from './dto/contact.dto';
import { toContactDto } from './contact.mapper';
import type { ContactRecord } from './contacts.repository';

/** Emitted after a contact's visible fields changed (sync, LID merge, customer link, user edit). */
export const CONTACTS_EVENTS = { updated: 'contacts.contact.updated' } as const;

export interface ContactUpdatedEvent {
  contact: ContactResponseDto & { organizationId: string };
  /** Announced by a customer change's follow, under this note (see LinkFollowNote): replayed. */
  followNote?: string;
}

@Injectable()
export class ContactEventsPublisher {
  constructor(private readonly events: EventEmitter2) {}

  /**
   * Awaited, so subscribers (the event outbox) have them before the caller goes on. Emitted in one
   * go, in order, so the outbox writes them together. Under a follow's note, a failed write is
   * thrown (the note's replay announces them again, each at most once).
   */
  async updated(
    contacts: (ContactRecord | null | undefined)[],
    followNote?: string,
  ): Promise<void> {
    await Promise.all(
      contacts.flatMap((contact) => {
        if (!contact) return [];
        const event: ContactUpdatedEvent = {
          contact: { ...toContactDto(contact), organizationId: contact.organizationId },
          ...(followNote ? { followNote } : {}),
        };
        return [this.events.emitAsync(CONTACTS_EVENTS.updated, event)];
      }),
    );
  }
}
