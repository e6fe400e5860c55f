import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { normalizePhone, skipFor, type Page } from '@app/common';
import { toCustomerCreatedPayload } from './customer.mapper';
import { CustomerNotFoundError } from './customers.errors';
import { CUSTOMERS_EVENTS, type CustomerCreatedEvent } from './customers.events';
import { CustomerRecord, CustomersRepository } from './customers.repository';

export interface CreateCustomerInput {
  name: string;
  /** null or absent: none. */
  phone?: string | null;
  email?: string | null;
}

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
    private readonly events: EventEmitter2,
  ) {}

  /**
   * Creates the customer, then announces it so Contacts can link existing contacts with the same phone.
   * The announcement is awaited (listeners are promisified) so the link is visible when this returns;
   * a failing listener is logged and never fails the creation.
   */
  async create(organizationId: string, input: CreateCustomerInput): Promise<CustomerRecord> {
    const phone = normalizePhone(input.phone);
    const customer = await this.customers.create({
      organizationId,
      name: input.name,
      ...(phone && input.phone ? { phone, phoneInput: input.phone } : {}),
      ...(input.email ? { email: input.email.toLowerCase() } : {}),
    });
    const event: CustomerCreatedEvent = { customer: toCustomerCreatedPayload(customer) };
    await this.events.emitAsync(CUSTOMERS_EVENTS.created, event).catch((err: Error) => {
      this.logger.error(
        { err, customerId: event.customer.id },
        'A customers.customer.created listener failed',
      );
    });
    return customer;
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

  /** The customer if it belongs to the organization; 404 otherwise (also for malformed ids). */
  async findOwned(organizationId: string, id: string): Promise<CustomerRecord> {
    const customer = await this.customers.findOwned(organizationId, id);
    if (!customer) throw new CustomerNotFoundError();
    return customer;
  }

  /** Oldest customer of the organization whose phone matches (any notation; normalized first). */
  async findByPhone(organizationId: string, phone: string): Promise<CustomerRecord | null> {
    const normalized = normalizePhone(phone);
    return normalized ? this.customers.findByPhone(organizationId, normalized) : null;
  }

  /** Normalized phone → id of the oldest customer with it, for batch linking. */
  /** The organization's customers that have a phone, oldest first (the oldest keeps a shared phone's link). */
  withPhones(organizationId: string): AsyncIterable<CustomerRecord> {
    return this.customers.withPhones(organizationId);
  }

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
