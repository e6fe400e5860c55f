import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { type ClaimedNote, WriteAheadNotes } from '@app/common';
import type { CustomerPayload } from './customers.events';
import { CustomerLinkFollow } from './schemas/customer-link-follow.schema';

/**
 * A note older than this, and not held, marks a follow that failed or was cut off by a crash: a
 * live follow is done (and its note closed) before its request answers.
 */
export const LINK_FOLLOW_GRACE_MS = 30_000;

type FollowNote =
  | { organizationId: string; customer: CustomerPayload; moved?: string[]; linkAll?: undefined }
  | { organizationId: string; linkAll: true; customer?: undefined };
export type OpenLinkFollow = ClaimedNote<FollowNote>;

/** The `customer_link_follows` write-ahead notes (see CustomerLinkFollow). */
@Injectable()
export class CustomerLinkFollowsRepository {
  private readonly notes: WriteAheadNotes<FollowNote>;

  constructor(@InjectModel(CustomerLinkFollow.name) model: Model<CustomerLinkFollow>) {
    this.notes = new WriteAheadNotes(model.collection);
  }

  /** Notes that the links are to follow a change of this customer (as read before the change). */
  open(customer: CustomerPayload): Promise<string> {
    return this.notes.open({ organizationId: customer.organizationId, customer });
  }

  /** Notes that the organization's contacts are to be linked by phone (crm switched on). */
  openLinkAll(organizationId: string): Promise<string> {
    return this.notes.open({ organizationId, linkAll: true });
  }

  /** Notes the contacts the follow is about to move, before it writes them (see LinkFollowNote). */
  noteMoved(id: string, contactIds: string[]): Promise<void> {
    return this.notes.addToSet(id, 'moved', contactIds);
  }

  close(id: string): Promise<void> {
    return this.notes.close(id);
  }

  /** Leases the oldest note written before `before` that nobody holds; undefined when none is left. */
  claimStale(before: Date, leaseMs: number): Promise<OpenLinkFollow | undefined> {
    return this.notes.claimStale(before, leaseMs);
  }
}
