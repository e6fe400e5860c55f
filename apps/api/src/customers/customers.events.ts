/** Events the Customers module emits (EventEmitter2) after the database write. */
export const CUSTOMERS_EVENTS = {
  /** With a phone (one without has no contacts to link). */
  created: 'customers.customer.created',
  /** Its phone was written (set, replaced, removed, or set as it was): the contacts linked by phone follow. */
  phoneChanged: 'customers.customer.phone-changed',
  deleted: 'customers.customer.deleted',
  /** The links the crm module's switch-on makes, replayed (CustomerLinksRecovery). */
  linkAllReplayed: 'customers.links.link-all-replayed',
} as const;

export interface CustomerPayload {
  id: string;
  organizationId: string;
  name: string;
  /** Normalized digits, when the customer has a phone. */
  phone?: string;
  email?: string;
}

/**
 * The write-ahead note a change's follow runs under (CustomerLinkFollowsRepository). The follow
 * notes the contacts it is about to move (`noteMoved`) before it writes them, and announces them
 * keyed by the note: a replay announces them again as they are, and an announcement that went out
 * already is not repeated.
 */
export interface LinkFollowNote {
  id: string;
  /** The contacts an earlier run of this follow noted (a replay). */
  moved?: string[];
}

export interface CustomerCreatedEvent {
  customer: CustomerPayload;
  note?: LinkFollowNote;
}

export interface CustomerPhoneChangedEvent {
  /** As it is now. */
  customer: CustomerPayload;
  note?: LinkFollowNote;
}

export interface LinkAllReplayedEvent {
  organizationId: string;
}

export interface CustomerDeletedEvent {
  customer: CustomerPayload;
  note?: LinkFollowNote;
}
