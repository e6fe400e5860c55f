import { skipFor, type Page, searchTokens } from '@app/common';
import { Injectable } from '@nestjs/common';
import { ModuleDisabledError } from '../organizations/organizations.errors';
import { OrganizationsService } from '../organizations/organizations.service';
import { WhatsAppSessionsService } from '../whatsapp-session/whatsapp-session.service';
import { ContactLocks } from './contact-locks';
import { ContactEventsPublisher } from './contacts.events';
import { limitViolations, normalizeTags } from './contact-rules';
import { ContactChangedError, ContactLimitsError, ContactNotFoundError } from './contacts.errors';
import { CustomerLinksService } from './customer-links.service';
import {
  ContactListFilter,
  ContactRecord,
  ContactsRepository,
  ContactUserPatch,
} from './contacts.repository';

export interface ContactListQuery extends ContactListFilter {
  page: number;
  limit: number;
}

/** What a user may change; `null` clears, `undefined` leaves as is. */
export interface ContactEdit {
  name?: string | null;
  tags?: string[] | null;
  notes?: string | null;
  customerId?: string | null;
  /** The revision the edit was made from: refused (409) if the contact changed since. */
  expectedRevision?: number;
}

@Injectable()
export class ContactsService {
  constructor(
    private readonly contacts: ContactsRepository,
    private readonly links: CustomerLinksService,
    private readonly organizations: OrganizationsService,
    private readonly sessions: WhatsAppSessionsService,
    private readonly locks: ContactLocks,
    private readonly publish: ContactEventsPublisher,
  ) {}

  async list(organizationId: string, query: ContactListQuery): Promise<Page<ContactRecord>> {
    const { page, limit, ...filter } = query;
    const { items, total } = await this.contacts.list(
      organizationId,
      filter,
      skipFor({ page, limit }),
      limit,
    );
    if (total === 0) await this.requireSession(organizationId, filter.sessionName);
    return { items, total, page, limit };
  }

  async tagCounts(
    organizationId: string,
    sessionName?: string,
  ): Promise<{ tag: string; count: number }[]> {
    const rows = await this.contacts.tagCounts(organizationId, sessionName);
    if (rows.length === 0) await this.requireSession(organizationId, sessionName);
    return rows.map((row) => ({ tag: row._id, count: row.count }));
  }

  /** An empty answer for an unknown session name is a 404 (a deleted session's contacts stay). */
  private async requireSession(organizationId: string, sessionName?: string): Promise<void> {
    if (sessionName)
      await this.sessions.requireKnown(organizationId, sessionName, () =>
        this.contacts.anyOfSession(organizationId, sessionName),
      );
  }

  /** 404 for another organization's contact and for malformed ids alike. */
  async getOwned(organizationId: string, id: string): Promise<ContactRecord> {
    const contact = await this.contacts.findOwned(organizationId, id);
    if (!contact) throw new ContactNotFoundError();
    return contact;
  }

  /**
   * Writes only user-owned fields; runs under the session's lock so a concurrent LID merge sees it.
   * Linking a customer is a CRM action: refused like the customer routes (403 MODULE_DISABLED) when
   * the organization has the 'crm' module off, before the customer is looked up. Unlinking is not.
   */
  async update(organizationId: string, id: string, edit: ContactEdit): Promise<ContactRecord> {
    if (
      edit.customerId !== undefined &&
      edit.customerId !== null &&
      !(await this.organizations.hasModule(organizationId, 'crm'))
    )
      throw new ModuleDisabledError('crm');
    const contact = await this.getOwned(organizationId, id);
    const patch: ContactUserPatch = {};
    if (edit.name !== undefined) {
      patch.customName = edit.name;
      patch.searchCustomName = searchTokens(edit.name);
    }
    if (edit.tags !== undefined) patch.tags = normalizeTags(edit.tags ?? []);
    if (edit.notes !== undefined) patch.notes = edit.notes;
    const violations = limitViolations(patch, contact);
    if (Object.keys(violations).length) throw new ContactLimitsError(violations);
    if (edit.customerId !== undefined) {
      // An unknown id or another organization's customer is a 404 (CUSTOMER_NOT_FOUND).
      patch.customerId =
        edit.customerId === null
          ? null
          : await this.links.customerToLink(organizationId, edit.customerId);
      patch.customerLinkSource = 'manual';
    }
    if (Object.keys(patch).length === 0) return contact;
    const updated = await this.locks.run(contact.sessionId, async () => {
      const { expectedRevision } = edit;
      const result = await this.contacts.updateOwned(organizationId, id, patch, expectedRevision);
      if (result) return result;
      // Merged away (a LID folded into its phone contact) between the read and the write: a 404;
      // otherwise the contact changed since the revision the edit was made from.
      if (expectedRevision === undefined) throw new ContactNotFoundError();
      throw new ContactChangedError((await this.getOwned(organizationId, id)).revision ?? 0);
    });
    await this.publish.updated([updated]);
    if (patch.customerId) await this.links.confirmManualLink(organizationId, patch.customerId);
    return updated;
  }

  /** Contact figures for Stats (its StatsContactsSource port): people only, groups excluded. */
  summary(
    organizationId: string,
    opts: { sessionName?: string; since: Date; until: Date },
  ): Promise<{ total: number; new: number; linkedToCustomers: number }> {
    return this.contacts.summary(organizationId, opts);
  }

  /** Asks the live session to re-read its contacts; they arrive through the usual sync events. */
  async resync(organizationId: string, sessionName: string): Promise<void> {
    await this.sessions.resyncContacts(organizationId, sessionName);
  }
}
