import {
  isDuplicateKeyError,
  escapeRegex,
  normalizeSearchText,
  phoneSearchConditions,
  phoneSearchKeys,
  uncastBulkWrite,
} from '@app/common';
import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { type AnyBulkWriteOperation, Model, Types, type QueryFilter } from 'mongoose';
import type { MergedContact, SyncTarget, SyncUpdate } from './contact-rules';
import { Contact, type CustomerLinkSource } from './schemas/contact.schema';

export type ContactRecord = Contact & { _id: Types.ObjectId };
/** Hears the contacts a link write is about to change, before it writes them. */
export type NoteFirst = (ids: Types.ObjectId[]) => Promise<void>;
export type PushNameFields = { pushName: string; searchPushName: string[]; pushNameAt: Date };

const OBJECT_ID = /^[0-9a-f]{24}$/i;
const toObjectId = (id: string) => (OBJECT_ID.test(id) ? new Types.ObjectId(id) : undefined);

export interface ContactListFilter {
  sessionName?: string;
  search?: string;
  tag?: string;
  hasCustomer?: boolean;
  isGroup?: boolean;
}

export interface ContactUserPatch {
  customName?: string | null;
  searchCustomName?: string[];
  tags?: string[];
  notes?: string | null;
  customerId?: string | null;
  customerLinkSource?: CustomerLinkSource | null;
}

@Injectable()
export class ContactsRepository {
  constructor(@InjectModel(Contact.name) private readonly model: Model<Contact>) {}

  /** Upsert by (organizationId, sessionId, jid). `inserted` tells whether the contact is new. */
  async upsert(
    target: SyncTarget,
    jid: string,
    update: SyncUpdate,
  ): Promise<{ contact: ContactRecord; inserted: boolean }> {
    const filter = { organizationId: target.organizationId, sessionId: target.sessionId, jid };
    const run = () =>
      this.model
        .findOneAndUpdate(filter, update, {
          upsert: true,
          returnDocument: 'after',
          includeResultMetadata: true,
        })
        .lean<ContactRecord>()
        .exec();
    let result;
    try {
      result = await run();
    } catch (err) {
      // Two upserts of a new key raced (another process): the loser retries as an update.
      if (!isDuplicateKeyError(err)) throw err;
      result = await run();
    }
    const raw = result as unknown as {
      value: ContactRecord;
      lastErrorObject?: { updatedExisting?: boolean };
    };
    return { contact: raw.value, inserted: raw.lastErrorObject?.updatedExisting === false };
  }

  /**
   * Upserts many contacts of one session in one unordered round trip, each followed by its
   * pushName write (only if newer). Per input that succeeded: its index, key and, when it was
   * inserted, its id. `retry`: inputs whose upsert lost an insert race (duplicate key), to retry
   * one by one; `rejected`: inputs the database refused for another reason (the rest still landed).
   */
  async bulkUpsert(
    target: SyncTarget,
    items: Array<{ jid: string; update: SyncUpdate; pushName?: PushNameFields }>,
  ): Promise<{
    outcomes: Array<{ index: number; jid: string; insertedId?: Types.ObjectId }>;
    retry: number[];
    rejected: number[];
  }> {
    const ops: AnyBulkWriteOperation<Contact>[] = [];
    const itemOfOp: number[] = [];
    items.forEach(({ jid, update, pushName }, index) => {
      const key = { organizationId: target.organizationId, sessionId: target.sessionId, jid };
      ops.push({ updateOne: { filter: key, update, upsert: true } });
      itemOfOp.push(index);
      if (!pushName) return;
      ops.push({
        updateOne: {
          filter: {
            ...key,
            pushName: { $ne: pushName.pushName },
            $or: [{ pushNameAt: null }, { pushNameAt: { $lte: pushName.pushNameAt } }],
          },
          update: { $set: pushName },
        },
      });
      itemOfOp.push(index);
    });
    let upsertedIds: Record<number, unknown>;
    const retry = new Set<number>();
    const rejected = new Set<number>();
    try {
      upsertedIds = (await uncastBulkWrite(this.model, ops, { ordered: false })).upsertedIds;
    } catch (error) {
      const failure = error as {
        writeErrors?: { code?: number; index: number }[];
        result?: { upsertedIds?: Record<number, unknown> };
      };
      if (!failure.writeErrors?.length) throw error;
      for (const e of failure.writeErrors)
        (isDuplicateKeyError(e) ? retry : rejected).add(itemOfOp[e.index]);
      upsertedIds = failure.result?.upsertedIds ?? {};
    }
    const inserted = new Map<number, Types.ObjectId>();
    for (const [op, id] of Object.entries(upsertedIds))
      inserted.set(itemOfOp[Number(op)], id as Types.ObjectId);
    const outcomes = items.flatMap(({ jid }, index) =>
      retry.has(index) || rejected.has(index)
        ? []
        : [{ index, jid, insertedId: inserted.get(index) }],
    );
    return { outcomes, retry: [...retry], rejected: [...rejected] };
  }

  /** The stored pushName of the session's contacts with these keys (missing ones are absent). */
  namesByJids(
    target: SyncTarget,
    jids: string[],
  ): Promise<Array<Pick<ContactRecord, 'jid' | 'pushName' | 'pushNameAt'>>> {
    return this.model
      .find(
        { organizationId: target.organizationId, sessionId: target.sessionId, jid: { $in: jids } },
        { _id: 0, jid: 1, pushName: 1, pushNameAt: 1 },
      )
      .lean<Array<Pick<ContactRecord, 'jid' | 'pushName' | 'pushNameAt'>>>()
      .exec();
  }

  /** The session's contacts with these keys, in the order of `jids`. */
  async findByJids(target: SyncTarget, jids: string[]): Promise<ContactRecord[]> {
    const found = await this.model
      .find({
        organizationId: target.organizationId,
        sessionId: target.sessionId,
        jid: { $in: jids },
      })
      .lean<ContactRecord[]>()
      .exec();
    const byJid = new Map(found.map((c) => [c.jid, c]));
    return jids.flatMap((jid) => byJid.get(jid) ?? []);
  }

  findByJid(target: SyncTarget, jid: string): Promise<ContactRecord | null> {
    return this.model
      .findOne({ organizationId: target.organizationId, sessionId: target.sessionId, jid })
      .lean<ContactRecord>()
      .exec();
  }

  findByLid(target: SyncTarget, lid: string): Promise<ContactRecord | null> {
    return this.model
      .findOne({ organizationId: target.organizationId, sessionId: target.sessionId, lid })
      .sort({ phone: -1 })
      .lean<ContactRecord>()
      .exec();
  }

  async setMessageCount(id: Types.ObjectId, messageCount: number): Promise<void> {
    await this.model.updateOne({ _id: id }, { $set: { messageCount } }).exec();
  }

  /** Sets the pushName unless a newer observation already did. */
  async setPushNameIfNewer(id: Types.ObjectId, fields: PushNameFields): Promise<void> {
    await this.model
      .updateOne(
        { _id: id, $or: [{ pushNameAt: null }, { pushNameAt: { $lte: fields.pushNameAt } }] },
        { $set: fields },
      )
      .exec();
  }

  /** Re-keys / completes a contact's identity (a `@lid` contact whose phone became known). */
  setIdentity(
    id: Types.ObjectId,
    identity: { jid?: string; lid?: string; phone?: string },
  ): Promise<ContactRecord | null> {
    const $set = identity.phone
      ? { ...identity, searchPhone: phoneSearchKeys(identity.phone) }
      : identity;
    return this.model
      .findOneAndUpdate({ _id: id }, { $set }, { returnDocument: 'after' })
      .lean<ContactRecord>()
      .exec();
  }

  /** The merge written into the surviving contact, while it is still at `revision` (else null). */
  applyMerge(
    id: Types.ObjectId,
    merged: MergedContact,
    revision: number | undefined,
  ): Promise<ContactRecord | null> {
    return this.model
      .findOneAndUpdate(
        { _id: id, revision: atRevision(revision) },
        { $set: merged, $inc: { revision: 1 } },
        { returnDocument: 'after' },
      )
      .lean<ContactRecord>()
      .exec();
  }

  /** Deletes the contact if it is still at `revision` (no edit since it was read). */
  async deleteAtRevision(id: Types.ObjectId, revision: number | undefined): Promise<boolean> {
    const res = await this.model.deleteOne({ _id: id, revision: atRevision(revision) }).exec();
    return res.deletedCount > 0;
  }

  async anyOfSession(organizationId: string, sessionName: string): Promise<boolean> {
    return (await this.model.exists({ organizationId, sessionName }).exec()) !== null;
  }

  async deleteById(id: Types.ObjectId): Promise<void> {
    await this.model.deleteOne({ _id: id }).exec();
  }

  /** Auto-link: only while no customer is linked and the user never set the link by hand. */
  async autoLinkCustomer(id: Types.ObjectId, customerId: string): Promise<boolean> {
    const res = await this.model
      .updateOne(
        { _id: id, customerId: null, customerLinkSource: { $ne: 'manual' } },
        autoLinkUpdate(customerId),
      )
      .exec();
    return res.modifiedCount > 0;
  }

  /**
   * Links the unlinked contacts with this phone to the customer; with `takeOver` (it is the oldest
   * customer with the phone), also those linked automatically to another. Returns them as linked.
   * `noteFirst` hears which contacts are about to be written, before the write.
   */
  async autoLinkByPhone(
    organizationId: string,
    phone: string,
    customerId: string,
    takeOver = false,
    noteFirst?: NoteFirst,
  ): Promise<ContactRecord[]> {
    const unlinked = { customerId: null, customerLinkSource: { $ne: 'manual' as const } };
    const linkable = takeOver
      ? {
          $or: [unlinked, { customerLinkSource: 'auto' as const, customerId: { $ne: customerId } }],
        }
      : unlinked;
    const filter: QueryFilter<Contact> = { organizationId, phone, ...linkable };
    const ids = await this.idsOf(filter);
    if (!ids.length) return [];
    await noteFirst?.(ids);
    const res = await this.model
      .updateMany({ ...filter, _id: { $in: ids } }, autoLinkUpdate(customerId))
      .exec();
    if (!res.modifiedCount) return [];
    return this.model
      .find({ _id: { $in: ids }, customerId, customerLinkSource: 'auto' })
      .lean<ContactRecord[]>()
      .exec();
  }

  /**
   * Unlinks the contacts linked to the customer: all of them, or only the automatic links of
   * contacts whose phone is no longer `phone`. They are free for an automatic link again; returns
   * them as unlinked. `noteFirst` hears which contacts are about to be written, before the write.
   */
  async unlinkCustomer(
    organizationId: string,
    customerId: string,
    only?: { automaticWithoutPhone: string | undefined },
    noteFirst?: NoteFirst,
  ): Promise<ContactRecord[]> {
    const filter: QueryFilter<Contact> = { organizationId, customerId };
    if (only) {
      filter.customerLinkSource = 'auto';
      if (only.automaticWithoutPhone) filter.phone = { $ne: only.automaticWithoutPhone };
    }
    const ids = await this.idsOf(filter);
    if (!ids.length) return [];
    await noteFirst?.(ids);
    await this.model
      .updateMany(
        { _id: { $in: ids }, customerId },
        { $set: { customerId: null, customerLinkSource: null }, $inc: { revision: 1 } },
      )
      .exec();
    return this.model
      .find({ _id: { $in: ids }, customerId: null })
      .lean<ContactRecord[]>()
      .exec();
  }

  private async idsOf(filter: QueryFilter<Contact>): Promise<Types.ObjectId[]> {
    return (await this.model.find(filter, { _id: 1 }).lean().exec()).map((c) => c._id);
  }

  findByIds(organizationId: string, ids: Types.ObjectId[]): Promise<ContactRecord[]> {
    return this.model
      .find({ organizationId, _id: { $in: ids } })
      .lean<ContactRecord[]>()
      .exec();
  }

  findOwned(organizationId: string, id: string): Promise<ContactRecord | null> {
    const _id = toObjectId(id);
    return _id
      ? this.model.findOne({ _id, organizationId }).lean<ContactRecord>().exec()
      : Promise.resolve(null);
  }

  /** The user's edit; with `revision`, only while the contact is still at it (null otherwise). */
  updateOwned(
    organizationId: string,
    id: string,
    patch: ContactUserPatch,
    revision?: number,
  ): Promise<ContactRecord | null> {
    const _id = toObjectId(id);
    if (!_id) return Promise.resolve(null);
    const filter: QueryFilter<Contact> = { _id, organizationId };
    if (revision !== undefined) filter.revision = atRevision(revision);
    return this.model
      .findOneAndUpdate(filter, { $set: patch, $inc: { revision: 1 } }, { returnDocument: 'after' })
      .lean<ContactRecord>()
      .exec();
  }

  async list(
    organizationId: string,
    filter: ContactListFilter,
    skip: number,
    limit: number,
  ): Promise<{ items: ContactRecord[]; total: number }> {
    const query = this.listQuery(organizationId, filter);
    const [items, total] = await Promise.all([
      this.model
        .find(query)
        .sort({ lastMessageAt: -1, _id: -1 })
        .skip(skip)
        .limit(limit)
        .lean<ContactRecord[]>()
        .exec(),
      this.model.countDocuments(query).exec(),
    ]);
    return { items, total };
  }

  tagCounts(
    organizationId: string,
    sessionName?: string,
  ): Promise<{ _id: string; count: number }[]> {
    const match: QueryFilter<Contact> = { organizationId, tags: { $exists: true, $ne: [] } };
    if (sessionName) match.sessionName = sessionName;
    return this.model
      .aggregate<{ _id: string; count: number }>([
        { $match: match },
        { $unwind: '$tags' },
        { $group: { _id: '$tags', count: { $sum: 1 } } },
        { $sort: { count: -1, _id: 1 } },
      ])
      .exec();
  }

  /** People (groups excluded): all, first seen within [since, until), linked to a customer. */
  async summary(
    organizationId: string,
    opts: { sessionName?: string; since: Date; until: Date },
  ): Promise<{ total: number; new: number; linkedToCustomers: number }> {
    const base: QueryFilter<Contact> = { organizationId, isGroup: { $ne: true } };
    if (opts.sessionName) base.sessionName = opts.sessionName;
    const [total, fresh, linkedToCustomers] = await Promise.all([
      this.model.countDocuments(base).exec(),
      this.model
        .countDocuments({ ...base, firstSeenAt: { $gte: opts.since, $lt: opts.until } })
        .exec(),
      this.model.countDocuments({ ...base, customerId: { $ne: null } }).exec(),
    ]);
    return { total, new: fresh, linkedToCustomers };
  }

  private listQuery(organizationId: string, filter: ContactListFilter): QueryFilter<Contact> {
    const query: QueryFilter<Contact> = { organizationId };
    if (filter.sessionName) query.sessionName = filter.sessionName;
    if (filter.tag) query.tags = filter.tag;
    if (filter.isGroup !== undefined) query.isGroup = filter.isGroup;
    if (filter.hasCustomer !== undefined)
      query.customerId = filter.hasCustomer ? { $ne: null } : null;
    const search = normalizeSearchText(filter.search);
    if (search) {
      const prefix = new RegExp(`^${escapeRegex(search)}`);
      const or: QueryFilter<Contact>[] = [
        { searchCustomName: prefix },
        { searchAddressBookName: prefix },
        { searchPushName: prefix },
      ];
      or.push(...phoneSearchConditions(search));
      query.$or = or;
    }
    return query;
  }
}

/** Matches a contact at `revision`; contacts stored before revisions were counted are at 0. */
const atRevision = (revision: number | undefined) =>
  revision ? revision : { $in: [0, null] as Array<number | null> };

/** An automatic link to the customer with the contact's phone: a change of a user-owned field. */
const autoLinkUpdate = (customerId: string) => ({
  $set: { customerId, customerLinkSource: 'auto' satisfies CustomerLinkSource },
  $inc: { revision: 1 },
});
