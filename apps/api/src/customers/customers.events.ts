/** Events the Customers module emits (EventEmitter2) after the database write. */
export const CUSTOMERS_EVENTS = {
  /** With a phone (one without has no contacts to link). */
  created: 'customers.customer.created',
  /** Its phone was written (set, replaced, removed, or set as it was): the contacts linked by phone follow. */
  phoneChanged: 'customers.customer.phone-changed',
  deleted: 'customers.customer.deleted',
} as const;

export interface CustomerPayload {
  id: string;
  organizationId: string;
  name: string;
  /** Normalized digits, when the customer has a phone. */
  phone?: string;
  email?: string;
}

export interface CustomerCreatedEvent {
  customer: CustomerPayload;
}

export interface CustomerPhoneChangedEvent {
  /** As it is now. */
  customer: CustomerPayload;
}

export interface CustomerDeletedEvent {
  customer: CustomerPayload;
}
