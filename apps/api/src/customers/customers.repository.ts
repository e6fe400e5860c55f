import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, Types, type QueryFilter } from 'mongoose';
import {
  escapeRegex,
  normalizeSearchText,
  phoneSearchConditions,
  phoneSearchKeys,
  searchTokens,
} from '@app/common';
import { Customer } from './schemas/customer.schema';

const OBJECT_ID = /^[0-9a-f]{24}$/i;

export type CustomerRecord = Customer & { _id: Types.ObjectId };

export interface NewCustomer {
  _id?: Types.ObjectId;
  organizationId: string;
  name: string;
  phone?: string;
  phoneInput?: string;
  email?: string;
}

/** A change of a customer: fields to set, and optional fields to remove (null). */
export interface CustomerChange {
  name?: string;
  phone?: { phone: string; phoneInput: string } | null;
  email?: string | null;
}

@Injectable()
export class CustomersRepository {
  constructor(@InjectModel(Customer.name) private readonly model: Model<Customer>) {}

  async create(input: NewCustomer): Promise<CustomerRecord> {
    const created = await this.model.create({
      ...input,
      searchName: searchTokens(input.name),
      searchPhone: phoneSearchKeys(input.phone),
    });
    return created.toObject<CustomerRecord>();
  }

  findOwned(organizationId: string, id: string): Promise<CustomerRecord | null> {
    if (!OBJECT_ID.test(id)) return Promise.resolve(null);
    return this.model
      .findOne({ _id: new Types.ObjectId(id), organizationId })
      .lean<CustomerRecord>()
      .exec();
  }

  /** The customer after the change; null when it is not there (any more). */
  updateOwned(
    organizationId: string,
    id: Types.ObjectId,
    change: CustomerChange,
  ): Promise<CustomerRecord | null> {
    const $set: Record<string, unknown> = {};
    const $unset: Record<string, 1> = {};
    if (change.name !== undefined)
      Object.assign($set, { name: change.name, searchName: searchTokens(change.name) });
    if (change.phone)
      Object.assign($set, { ...change.phone, searchPhone: phoneSearchKeys(change.phone.phone) });
    else if (change.phone === null) {
      Object.assign($unset, { phone: 1, phoneInput: 1 });
      $set.searchPhone = [];
    }
    if (change.email) $set.email = change.email;
    else if (change.email === null) $unset.email = 1;
    return this.model
      .findOneAndUpdate({ _id: id, organizationId }, { $set, $unset }, { returnDocument: 'after' })
      .lean<CustomerRecord>()
      .exec();
  }

  /** The customer as it was; null when it was not there. */
  deleteOwned(organizationId: string, id: string): Promise<CustomerRecord | null> {
    if (!OBJECT_ID.test(id)) return Promise.resolve(null);
    return this.model
      .findOneAndDelete({ _id: new Types.ObjectId(id), organizationId })
      .lean<CustomerRecord>()
      .exec();
  }

  /** Oldest customer with this normalized phone. */
  findByPhone(organizationId: string, phone: string): Promise<CustomerRecord | null> {
    return this.model
      .findOne({ organizationId, phone })
      .sort({ createdAt: 1, _id: 1 })
      .lean<CustomerRecord>()
      .exec();
  }

  /** The organization's customers that have a phone, oldest first, streamed. */
  withPhones(organizationId: string): AsyncIterable<CustomerRecord> {
    return this.model
      .find({ organizationId, phone: { $type: 'string' } })
      .sort({ createdAt: 1, _id: 1 })
      .lean<CustomerRecord>()
      .cursor();
  }

  findByPhones(organizationId: string, phones: string[]): Promise<CustomerRecord[]> {
    if (!phones.length) return Promise.resolve([]);
    return this.model
      .find({ organizationId, phone: { $in: phones } })
      .sort({ createdAt: 1, _id: 1 })
      .lean<CustomerRecord[]>()
      .exec();
  }

  async list(
    organizationId: string,
    search: string | undefined,
    skip: number,
    limit: number,
  ): Promise<{ items: CustomerRecord[]; total: number }> {
    const filter = this.listFilter(organizationId, search);
    const [items, total] = await Promise.all([
      this.model
        .find(filter)
        .sort({ createdAt: -1, _id: -1 })
        .skip(skip)
        .limit(limit)
        .lean<CustomerRecord[]>()
        .exec(),
      this.model.countDocuments(filter).exec(),
    ]);
    return { items, total };
  }

  private listFilter(organizationId: string, search: string | undefined): QueryFilter<Customer> {
    const text = normalizeSearchText(search);
    if (!text) return { organizationId };
    const prefix = new RegExp(`^${escapeRegex(text)}`);
    const or: QueryFilter<Customer>[] = [{ searchName: prefix }, { email: prefix }];
    or.push(...phoneSearchConditions(text));
    return { organizationId, $or: or };
  }
}
