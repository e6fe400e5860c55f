import { Test } from '@nestjs/testing';
import { Types } from 'mongoose';
import { CustomersService } from '../customers/customers.service';
import { OrganizationsService } from '../organizations/organizations.service';
import { ContactEventsPublisher } from './contacts.events';
import { ContactsRepository } from './contacts.repository';
import { CustomerLinksService } from './customer-links.service';

interface Row {
  _id: Types.ObjectId;
  organizationId: string;
  jid: string;
  phone: string;
  customerId: string | null;
  customerLinkSource: 'auto' | 'manual' | null;
}

/** The contacts' link fields in memory, written as ContactsRepository's queries write them. */
class FakeContacts {
  rows: Row[] = [];

  add(phone: string): Row {
    const row: Row = {
      _id: new Types.ObjectId(),
      organizationId: 'org1',
      jid: `${phone}@s.whatsapp.net`,
      phone,
      customerId: null,
      customerLinkSource: null,
    };
    this.rows.push(row);
    return row;
  }

  async unlinkCustomer(
    _org: string,
    customerId: string,
    only?: { automaticWithoutPhone: string | undefined },
  ): Promise<Row[]> {
    const hit = this.rows.filter(
      (c) =>
        c.customerId === customerId &&
        (!only || (c.customerLinkSource === 'auto' && c.phone !== only.automaticWithoutPhone)),
    );
    for (const c of hit) Object.assign(c, { customerId: null, customerLinkSource: null });
    return hit.map((c) => ({ ...c }));
  }

  async autoLinkByPhone(
    _org: string,
    phone: string,
    customerId: string,
    takeOver = false,
  ): Promise<Row[]> {
    const hit = this.rows.filter(
      (c) =>
        c.phone === phone &&
        ((c.customerId === null && c.customerLinkSource !== 'manual') ||
          (takeOver && c.customerLinkSource === 'auto' && c.customerId !== customerId)),
    );
    for (const c of hit) Object.assign(c, { customerId, customerLinkSource: 'auto' });
    return hit.map((c) => ({ ...c }));
  }

  async autoLinkCustomer(id: Types.ObjectId, customerId: string): Promise<boolean> {
    const c = this.rows.find((r) => r._id.equals(id));
    if (!c || c.customerId !== null || c.customerLinkSource === 'manual') return false;
    Object.assign(c, { customerId, customerLinkSource: 'auto' });
    return true;
  }

  async findByIds(_org: string, ids: Types.ObjectId[]): Promise<Row[]> {
    return this.rows.filter((r) => ids.some((id) => id.equals(r._id))).map((c) => ({ ...c }));
  }
}

/** Customers in creation order (the first with a phone is its oldest). */
class FakeCustomers {
  rows: Array<{ id: string; phone?: string }> = [];

  async find(_org: string, id: string) {
    const c = this.rows.find((r) => r.id === id);
    return c ? { _id: new Types.ObjectId(c.id), organizationId: 'org1', ...c } : null;
  }

  async idsByPhones(_org: string, phones: string[]): Promise<Map<string, string>> {
    const map = new Map<string, string>();
    for (const c of this.rows)
      if (c.phone && phones.includes(c.phone) && !map.has(c.phone)) map.set(c.phone, c.id);
    return map;
  }
}

describe('CustomerLinksService', () => {
  let contacts: FakeContacts;
  let customers: FakeCustomers;
  let service: CustomerLinksService;
  const customerId = new Types.ObjectId().toHexString();
  const payload = { id: customerId, organizationId: 'org1', name: 'Mona' };

  beforeEach(async () => {
    contacts = new FakeContacts();
    customers = new FakeCustomers();
    const moduleRef = await Test.createTestingModule({
      providers: [
        CustomerLinksService,
        { provide: ContactsRepository, useValue: contacts },
        { provide: CustomersService, useValue: customers },
        { provide: OrganizationsService, useValue: { hasModule: async () => true } },
        { provide: ContactEventsPublisher, useValue: { updated: async () => undefined } },
      ],
    }).compile();
    service = moduleRef.get(CustomerLinksService);
  });

  /** Runs `change` once, when the follow's first `write` starts (after it read the customers). */
  const meanwhile = (
    write: 'unlinkCustomer' | 'autoLinkByPhone' | 'autoLinkCustomer',
    change: () => Promise<void>,
  ) => {
    const original = contacts[write].bind(contacts) as (...args: unknown[]) => Promise<never>;
    let done = false;
    vi.spyOn(contacts, write).mockImplementation(async (...args: unknown[]) => {
      if (!done) {
        done = true;
        await change();
      }
      return original(...args);
    });
  };

  it('a follow that read a phone changed again before it wrote ends where the customer is', async () => {
    const second = contacts.add('201000000002');
    const third = contacts.add('201000000003');
    customers.rows.push({ id: customerId, phone: '201000000002' });
    // The next PATCH (to the third phone) lands and its follow runs, before this one writes.
    meanwhile('unlinkCustomer', async () => {
      customers.rows[0].phone = '201000000003';
      await service.followPhoneChange(payload);
    });
    await service.followPhoneChange(payload);
    expect(second).toMatchObject({ customerId: null, customerLinkSource: null });
    expect(third).toMatchObject({ customerId, customerLinkSource: 'auto' });
  });

  it('a follow that read a customer deleted before it wrote links nothing to it', async () => {
    const contact = contacts.add('201000000002');
    customers.rows.push({ id: customerId, phone: '201000000002' });
    meanwhile('autoLinkByPhone', async () => {
      customers.rows.length = 0;
      await service.unlinkDeletedCustomer(payload);
    });
    await service.followPhoneChange(payload);
    expect(contact).toMatchObject({ customerId: null, customerLinkSource: null });
  });

  it('a follow whose customer was overtaken as the oldest with its phone leaves the links to the oldest', async () => {
    const contact = contacts.add('201000000002');
    const younger = customerId;
    const older = new Types.ObjectId().toHexString();
    customers.rows.push({ id: older }, { id: younger, phone: '201000000002' });
    // The older customer takes the phone, and its follow runs, before the younger one's writes.
    meanwhile('autoLinkByPhone', async () => {
      customers.rows[0].phone = '201000000002';
      await service.followPhoneChange({ ...payload, id: older });
    });
    await service.followPhoneChange(payload);
    expect(contact).toMatchObject({ customerId: older, customerLinkSource: 'auto' });
  });

  describe('a contact sync that looked the phone up just before a customer change', () => {
    it('does not leave its contact linked to the customer deleted meanwhile', async () => {
      const contact = contacts.add('201000000002');
      const other = new Types.ObjectId().toHexString();
      customers.rows.push({ id: customerId, phone: '201000000002' }, { id: other });
      // The DELETE, and its follow (nothing linked yet), land between the look-up and the link.
      meanwhile('autoLinkCustomer', async () => {
        customers.rows.splice(0, 1);
        await service.unlinkDeletedCustomer(payload);
      });
      await service.linkContacts('org1', [contact]);
      expect(contact).toMatchObject({ customerId: null, customerLinkSource: null });
    });

    it('links its contact to where the phone went: the oldest other customer with it', async () => {
      const contact = contacts.add('201000000002');
      const younger = new Types.ObjectId().toHexString();
      customers.rows.push(
        { id: customerId, phone: '201000000002' },
        { id: younger, phone: '201000000002' },
      );
      meanwhile('autoLinkCustomer', async () => {
        customers.rows[0].phone = '201000000009';
        await service.followPhoneChange(payload);
      });
      await service.linkContacts('org1', [contact]);
      expect(contact).toMatchObject({ customerId: younger, customerLinkSource: 'auto' });
    });
  });
});
