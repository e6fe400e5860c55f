import { isDeepStrictEqual } from 'node:util';
import { Injectable, Logger } from '@nestjs/common';
import { Types } from 'mongoose';
import { toCustomerPayload } from '../customers/customer.mapper';
import { CustomerNotFoundError } from '../customers/customers.errors';
import type { CustomerPayload, LinkFollowNote } from '../customers/customers.events';
import { CustomersService } from '../customers/customers.service';
import { OrganizationsService } from '../organizations/organizations.service';
import { ContactEventsPublisher } from './contacts.events';
import { ContactRecord, ContactsRepository, type NoteFirst } from './contacts.repository';

/** What the automatic link needs to know about a contact. */
export type LinkCandidate = Pick<
  ContactRecord,
  '_id' | 'jid' | 'phone' | 'customerId' | 'customerLinkSource'
>;

/** A follow reads the customer again after its writes, and starts over, this many times at most. */
const FOLLOW_PASSES = 3;

type FollowedState = { phone?: string; oldest?: string } | null;

/** A customer a follow is about: it reads the rest from the database. */
type CustomerRef = Pick<CustomerPayload, 'id' | 'organizationId'>;

/**
 * Links contacts to CRM customers by phone: a contact without a link, and whose link nobody set
 * by hand, is linked to the oldest customer with its phone. Follows customers as they are created,
 * change their phone and are deleted; every contact whose link moved is announced.
 */
@Injectable()
export class CustomerLinksService {
  private readonly logger = new Logger(CustomerLinksService.name);

  constructor(
    private readonly contacts: ContactsRepository,
    private readonly customers: CustomersService,
    private readonly organizations: OrganizationsService,
    private readonly publish: ContactEventsPublisher,
  ) {}

  /**
   * Links contacts to the customer with their phone, while the organization uses the crm module.
   * A failure is logged: the contact sync goes on, and a later sighting links the contact.
   */
  async linkContacts(organizationId: string, contacts: LinkCandidate[]): Promise<void> {
    try {
      await this.linkByPhone(organizationId, contacts);
    } catch (err) {
      this.logger.error({ err, organizationId }, 'Customer auto-link failed');
    }
  }

  /** The id of the organization's customer a user links a contact to; 404 CUSTOMER_NOT_FOUND otherwise. */
  async customerToLink(organizationId: string, customerId: string): Promise<string> {
    return String((await this.customers.findOwned(organizationId, customerId))._id);
  }

  /**
   * Once a link set by hand is written: the customer may have been deleted between its look-up and
   * the write, and its delete followed before the link existed. The link is then undone as that
   * follow does (the contact falls back on its phone), and it is a 404, as if the delete came first.
   */
  async confirmManualLink(organizationId: string, customerId: string): Promise<void> {
    if (await this.customers.find(organizationId, customerId)) return;
    await this.unlinkAll({ organizationId, id: customerId });
    throw new CustomerNotFoundError();
  }

  /**
   * The crm module came (back) on: contacts written while it was off were not linked, so link the
   * unlinked ones whose phone a customer has, oldest customer first. Noted first: if it fails (or
   * a crash cuts it off), CustomerLinksRecovery replays it (`relinkAll`).
   */
  async linkAllCustomers(organizationId: string): Promise<void> {
    const note = await this.customers.noteLinkAll(organizationId);
    await this.relinkAll(organizationId);
    await this.customers.closeLinkFollow(note);
  }

  /** linkAllCustomers without its note: the replay's (none while crm is off again). */
  async relinkAll(organizationId: string): Promise<void> {
    if (!(await this.organizations.hasModule(organizationId, 'crm'))) return;
    for await (const customer of this.customers.withPhones(organizationId))
      await this.linkNewCustomer(toCustomerPayload(customer));
  }

  /** Links the organization's unlinked contacts with the customer's phone to it (crm switched on). */
  async linkNewCustomer(customer: CustomerPayload): Promise<void> {
    if (!customer.phone) return;
    const linked = await this.contacts.autoLinkByPhone(
      customer.organizationId,
      customer.phone,
      customer.id,
    );
    if (!linked.length) return;
    this.logger.log(
      { organizationId: customer.organizationId, customerId: customer.id, linked: linked.length },
      'Linked contacts to a new customer',
    );
    await this.publish.updated(linked);
  }

  /**
   * A customer's phone changed: its automatic links to contacts of another phone are undone (they
   * go to the oldest other customer with their phone, if any), and the contacts with its phone are
   * linked to the oldest customer with it: the unlinked ones, and those linked automatically to
   * another; not while the crm module is off (a replay after it was switched off, a request that
   * passed its guard just before): switching it on links them. Read from the database, not the
   * event, and read again once written: a change that landed meanwhile (another phone, a delete,
   * an older customer taking the phone), whose own follow may have run before these writes, is
   * followed again, so concurrent follows end where the customers are.
   * Under a `note`, the contacts moved are noted before they are written (see LinkFollowNote).
   */
  async followPhoneChange(customer: CustomerRef, note?: LinkFollowNote): Promise<void> {
    let state = await this.stateOf(customer);
    for (let pass = 1; ; pass++) {
      await this.follow(customer, state, note);
      const now = await this.stateOf(customer);
      if (isDeepStrictEqual(now, state)) break;
      if (pass === FOLLOW_PASSES)
        throw new Error(`Customer ${customer.id} kept changing while its contacts followed it`);
      state = now;
    }
    await this.finishNoted(customer.organizationId, note);
  }

  /** A customer was deleted: every contact linked to it, by hand too, is unlinked (and relinked). */
  async unlinkDeletedCustomer(customer: CustomerRef, note?: LinkFollowNote): Promise<void> {
    await this.unlinkAll(customer, note);
    await this.finishNoted(customer.organizationId, note);
  }

  private async unlinkAll(customer: CustomerRef, note?: LinkFollowNote): Promise<void> {
    const { organizationId, id } = customer;
    const dropped = await this.contacts.unlinkCustomer(
      organizationId,
      id,
      undefined,
      this.noteFirst(note),
    );
    await this.relink(customer, dropped, [], note);
  }

  /** What a follow acts on: the customer's phone and the oldest customer with it; null once deleted. */
  private async stateOf({ organizationId, id }: CustomerRef): Promise<FollowedState> {
    const current = await this.customers.find(organizationId, id);
    if (!current) return null;
    const phone = current.phone ?? undefined;
    const oldest = phone
      ? (await this.customers.idsByPhones(organizationId, [phone])).get(phone)
      : undefined;
    return { phone, oldest };
  }

  private async follow(
    customer: CustomerRef,
    state: FollowedState,
    note: LinkFollowNote | undefined,
  ): Promise<void> {
    if (!state) return this.unlinkAll(customer, note);
    const { organizationId } = customer;
    const { phone, oldest } = state;
    const dropped = await this.contacts.unlinkCustomer(
      organizationId,
      customer.id,
      { automaticWithoutPhone: phone },
      this.noteFirst(note),
    );
    // Every automatic link of a phone goes to the oldest customer with it: this one or an older one.
    const linked =
      phone && oldest && (await this.organizations.hasModule(organizationId, 'crm'))
        ? await this.contacts.autoLinkByPhone(
            organizationId,
            phone,
            oldest,
            true,
            this.noteFirst(note),
          )
        : [];
    await this.relink(customer, dropped, linked, note);
  }

  /** Notes the contacts a follow is about to move in its note, before it writes them. */
  private noteFirst(note: LinkFollowNote | undefined): NoteFirst | undefined {
    if (!note) return undefined;
    return (ids) => this.customers.noteMovedContacts(note.id, ids.map(String));
  }

  /**
   * A replayed follow: the contacts an earlier run noted may have moved, and not been relinked or
   * announced, before it was cut off. Those left unlinked are linked by their phone; all are
   * announced under the note, so what went out already is not announced again.
   */
  private async finishNoted(organizationId: string, note?: LinkFollowNote): Promise<void> {
    if (!note?.moved?.length) return;
    const ids = note.moved.map((id) => new Types.ObjectId(id));
    await this.linkByPhone(organizationId, await this.contacts.findByIds(organizationId, ids));
    await this.publish.updated(await this.contacts.findByIds(organizationId, ids), note.id);
  }

  /**
   * linkContacts, failures thrown. The customers are looked up again once the links are written:
   * a change that landed in between (a delete, a phone change, an older customer taking the phone)
   * may have been followed before the link existed, so the customers concerned are followed again.
   */
  private async linkByPhone(organizationId: string, contacts: LinkCandidate[]): Promise<void> {
    const candidates = contacts.filter(
      (c) => c.phone && !c.customerId && c.customerLinkSource !== 'manual',
    );
    if (!candidates.length) return;
    if (!(await this.organizations.hasModule(organizationId, 'crm'))) return;
    const customerIds = await this.customers.idsByPhones(
      organizationId,
      candidates.map((c) => c.phone as string),
    );
    const linked = new Map<string, string>(); // phone → the customer its contacts were linked to
    for (const contact of candidates) {
      const phone = contact.phone as string;
      const customerId = customerIds.get(phone);
      if (customerId && (await this.contacts.autoLinkCustomer(contact._id, customerId)))
        linked.set(phone, customerId);
    }
    if (!linked.size) return;
    const now = await this.customers.idsByPhones(organizationId, [...linked.keys()]);
    const changed = new Set<string>();
    for (const [phone, customerId] of linked) {
      const oldest = now.get(phone);
      if (oldest === customerId) continue;
      changed.add(customerId);
      if (oldest) changed.add(oldest);
    }
    for (const id of changed) await this.followPhoneChange({ id, organizationId });
  }

  /**
   * Links the unlinked contacts to the oldest other customer with their phone; announces all.
   * Failures are thrown: the change's note stays, and its recovery links them.
   */
  private async relink(
    customer: CustomerRef,
    dropped: ContactRecord[],
    linked: ContactRecord[],
    note: LinkFollowNote | undefined,
  ): Promise<void> {
    if (!dropped.length && !linked.length) return;
    const { organizationId } = customer;
    await this.linkByPhone(organizationId, dropped);
    const ids = dropped.map((c) => c._id);
    const moved = ids.length ? await this.contacts.findByIds(organizationId, ids) : [];
    this.logger.log(
      { organizationId, customerId: customer.id, unlinked: dropped.length, linked: linked.length },
      'Contacts followed a changed customer',
    );
    await this.publish.updated([...moved, ...linked], note?.id);
  }
}
