/** Events the Customers module emits (EventEmitter2) after the database write. */
export const CUSTOMERS_EVENTS = {
  created: 'customers.customer.created',
} as const;

export interface CustomerCreatedPayload {
  id: string;
  organizationId: string;
  name: string;
  /** Normalized digits, when the customer has a phone. */
  phone?: string;
  email?: string;
}

export interface CustomerCreatedEvent {
  customer: CustomerCreatedPayload;
}
