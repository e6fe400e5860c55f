import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { Types } from 'mongoose';
import { normalizePhone, skipFor, type Page } from '@app/common';
import { toCustomerPayload } from './customer.mapper';
import { CustomerNotFoundError } from './customers.errors';
import {
  CustomerLinkFollowsRepository,
  type OpenLinkFollow,
} from './customer-link-follows.repository';
import {
  CUSTOMERS_EVENTS,
  type CustomerPayload,
  type LinkAllReplayedEvent,
} from './customers.events';
import {
  type CustomerChange,
  CustomerRecord,
  CustomersRepository,
  type NewCustomer,
} from './customers.repository';

export interface CreateCustomerInput {
  name: string;
  /** null or absent: none. */
  phone?: string | null;
  email?: string | null;
}

/** Absent: unchanged; null: removed. */
export type UpdateCustomerInput = Partial<CreateCustomerInput>;

export interface CustomerListQuery {
  search?: string;
  page: number;
  limit: number;
}

@Injectable()
export class CustomersService {
  private readonly logger = new Logger(CustomersService.name);

  constructor(
    private readonly customers: CustomersRepository,
    private readonly follows: CustomerLinkFollowsRepository,
    private readonly events: EventEmitter2,
  ) {}

  /**
   * Creates the customer; one with a phone is announced so Contacts can link existing contacts with
   * the same phone, noted first as a phone change is (see followed).
   */
  async create(organizationId: string, input: CreateCustomerInput): Promise<CustomerRecord> {
    const phone = normalizePhone(input.phone);
    const fields: NewCustomer = {
      _id: new Types.ObjectId(), // known before the insert, for the note
      organizationId,
      name: input.name,
      ...(phone && input.phone ? { phone, phoneInput: input.phone } : {}),
      ...(input.email ? { email: input.email.toLowerCase() } : {}),
    };
    if (!fields.phone) return this.customers.create(fields);
    const note = await this.follows.open({
      id: String(fields._id),
      organizationId,
      name: fields.name,
      phone: fields.phone,
    });
    const customer = await this.customers.create(fields);
    await this.followed(note, CUSTOMERS_EVENTS.created, toCustomerPayload(customer));
    return customer;
  }

  /**
   * Changes the customer; a phone sent is announced, so the contacts linked by phone follow. The
   * follow is noted before the write (see followed), so it is finished even if it fails or a crash
   * cuts it off.
   */
  async update(
    organizationId: string,
    id: string,
    input: UpdateCustomerInput,
  ): Promise<CustomerRecord> {
    const before = await this.findOwned(organizationId, id);
    const change: CustomerChange = {};
    if (input.name !== undefined) change.name = input.name;
    if (input.phone !== undefined) {
      const phone = normalizePhone(input.phone);
      change.phone = phone && input.phone ? { phone, phoneInput: input.phone } : null;
    }
    if (input.email !== undefined) change.email = input.email?.toLowerCase() ?? null;
    if (!Object.keys(change).length) return before; // nothing to change, not even updatedAt
    const note =
      change.phone === undefined ? undefined : await this.follows.open(toCustomerPayload(before));
    const after = await this.customers.updateOwned(organizationId, before._id, change);
    if (!after) {
      if (note) await this.follows.close(note); // deleted meanwhile: the delete noted its follow
      throw new CustomerNotFoundError();
    }
    // A phone sent is announced even when it reads as before: a concurrent change may have set
    // another one (and moved the links) between that read and this write. Following is idempotent.
    if (note) await this.followed(note, CUSTOMERS_EVENTS.phoneChanged, toCustomerPayload(after));
    return after;
  }

  /** Deletes the customer; announced (noted first, as a phone change), so its contacts are unlinked. */
  async delete(organizationId: string, id: string): Promise<void> {
    const customer = await this.findOwned(organizationId, id);
    const note = await this.follows.open(toCustomerPayload(customer));
    const deleted = await this.customers.deleteOwned(organizationId, id);
    if (!deleted) {
      await this.follows.close(note); // deleted meanwhile, by a request that noted it too
      throw new CustomerNotFoundError();
    }
    await this.followed(note, CUSTOMERS_EVENTS.deleted, toCustomerPayload(deleted));
  }

  /**
   * Announces a noted change again (CustomerLinksRecovery): as a phone change of the customer as it
   * is now, or as the delete of the customer as noted once it is gone. Closes the note once the
   * links followed; throws if they did not (the note is claimed again after its lease).
   */
  async replayFollow(note: OpenLinkFollow): Promise<void> {
    if (note.linkAll) {
      const event: LinkAllReplayedEvent = { organizationId: note.organizationId };
      await this.events.emitAsync(CUSTOMERS_EVENTS.linkAllReplayed, event);
      return this.follows.close(note.id);
    }
    const current = await this.find(note.organizationId, note.customer.id);
    const [event, customer] = current
      ? [CUSTOMERS_EVENTS.phoneChanged, toCustomerPayload(current)]
      : [CUSTOMERS_EVENTS.deleted, note.customer];
    await this.events.emitAsync(event, { customer, note: { id: note.id, moved: note.moved } });
    await this.follows.close(note.id);
  }

  /**
   * Notes that the organization's contacts are to be linked by phone (crm switched on), before the
   * links are written; `closeLinkFollow` once they are. CustomerLinksRecovery replays it otherwise.
   */
  noteLinkAll(organizationId: string): Promise<string> {
    return this.follows.openLinkAll(organizationId);
  }

  closeLinkFollow(noteId: string): Promise<void> {
    return this.follows.close(noteId);
  }

  /** A follow is about to move these contacts (see LinkFollowNote). */
  noteMovedContacts(noteId: string, contactIds: string[]): Promise<void> {
    return this.follows.noteMoved(noteId, contactIds);
  }

  /**
   * Announces a noted change and closes its note once the links followed (awaited: they are done
   * when the request answers). A follow that failed never fails the request, whose change is
   * stored: its note stays, and CustomerLinksRecovery finishes the links.
   */
  private async followed(note: string, event: string, customer: CustomerPayload): Promise<void> {
    try {
      await this.events.emitAsync(event, { customer, note: { id: note } });
      await this.follows.close(note);
    } catch (err) {
      this.logger.error(
        { err, customerId: customer.id },
        `The contacts' links did not follow ${event}: recovery finishes them`,
      );
    }
  }

  async list(organizationId: string, query: CustomerListQuery): Promise<Page<CustomerRecord>> {
    const { items, total } = await this.customers.list(
      organizationId,
      query.search,
      skipFor(query),
      query.limit,
    );
    return { items, total, page: query.page, limit: query.limit };
  }

  /** The customer if it belongs to the organization, else null (also for malformed ids). */
  find(organizationId: string, id: string): Promise<CustomerRecord | null> {
    return this.customers.findOwned(organizationId, id);
  }

  /** The customer if it belongs to the organization; 404 otherwise (also for malformed ids). */
  async findOwned(organizationId: string, id: string): Promise<CustomerRecord> {
    const customer = await this.find(organizationId, id);
    if (!customer) throw new CustomerNotFoundError();
    return customer;
  }

  /** Oldest customer of the organization whose phone matches (any notation; normalized first). */
  async findByPhone(organizationId: string, phone: string): Promise<CustomerRecord | null> {
    const normalized = normalizePhone(phone);
    return normalized ? this.customers.findByPhone(organizationId, normalized) : null;
  }

  /** The organization's customers that have a phone, oldest first (the oldest keeps a shared phone's link). */
  withPhones(organizationId: string): AsyncIterable<CustomerRecord> {
    return this.customers.withPhones(organizationId);
  }

  /** Normalized phone → id of the oldest customer with it, for batch linking. */
  async idsByPhones(organizationId: string, phones: string[]): Promise<Map<string, string>> {
    const unique = [
      ...new Set(phones.map((p) => normalizePhone(p)).filter((p): p is string => !!p)),
    ];
    const found = await this.customers.findByPhones(organizationId, unique);
    const byPhone = new Map<string, string>();
    for (const customer of found) {
      if (customer.phone && !byPhone.has(customer.phone))
        byPhone.set(customer.phone, String(customer._id));
    }
    return byPhone;
  }
}
