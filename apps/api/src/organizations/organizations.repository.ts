import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { isValidObjectId, Model, Types } from 'mongoose';
import { isDuplicateKeyError } from '@app/common';
import { Organization, OrganizationModuleName } from './schemas/organization.schema';
import { User, UserRole } from './schemas/user.schema';

export type OrganizationRecord = Organization & { _id: Types.ObjectId };
export type UserRecord = User & { _id: Types.ObjectId };

const toObjectId = (id: string) => (isValidObjectId(id) ? new Types.ObjectId(id) : undefined);

@Injectable()
export class OrganizationsRepository {
  constructor(@InjectModel(Organization.name) private readonly model: Model<Organization>) {}

  async create(name: string): Promise<OrganizationRecord> {
    const created = await this.model.create({ name });
    return created.toObject();
  }

  findById(id: string): Promise<OrganizationRecord | null> {
    const _id = toObjectId(id);
    return _id ? this.model.findById(_id).lean<OrganizationRecord>().exec() : Promise.resolve(null);
  }

  update(
    id: string,
    patch: { name?: string; modules?: OrganizationModuleName[] },
  ): Promise<OrganizationRecord | null> {
    return this.model
      .findByIdAndUpdate(id, { $set: patch }, { returnDocument: 'after' })
      .lean<OrganizationRecord>()
      .exec();
  }

  /** Sets the modules; returns the organization as it was before, so a caller knows what changed. */
  setModules(id: string, modules: OrganizationModuleName[]): Promise<OrganizationRecord | null> {
    return this.model
      .findByIdAndUpdate(id, { $set: { modules } }, { returnDocument: 'before' })
      .lean<OrganizationRecord>()
      .exec();
  }

  async deleteById(id: string): Promise<void> {
    await this.model.deleteOne({ _id: id }).exec();
  }
}

@Injectable()
export class UsersRepository {
  constructor(@InjectModel(User.name) private readonly model: Model<User>) {}

  async create(
    user: Omit<User, 'createdAt' | 'updatedAt' | 'disabled' | 'tokenVersion'>,
  ): Promise<UserRecord> {
    const created = await this.model.create(user);
    return created.toObject();
  }

  /** Rewrites stored emails that are not in Unicode NFC (see UserEmailsNfcMigration). */
  async normalizeEmailsToNfc(): Promise<{ changed: number; clashes: string[] }> {
    const rows = await this.model
      .find({ email: /[^ -~]/ }, { email: 1 }) // anything but printable ASCII
      .lean()
      .exec();
    let changed = 0;
    const clashes: string[] = [];
    for (const { _id, email } of rows) {
      const nfc = email.normalize('NFC');
      if (nfc === email) continue;
      try {
        const res = await this.model.updateOne({ _id, email }, { $set: { email: nfc } }).exec();
        changed += res.modifiedCount;
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
        clashes.push(nfc);
      }
    }
    return { changed, clashes };
  }

  findByEmail(email: string): Promise<UserRecord | null> {
    return this.model.findOne({ email: email.toLowerCase() }).lean<UserRecord>().exec();
  }

  findById(id: string): Promise<UserRecord | null> {
    const _id = toObjectId(id);
    return _id ? this.model.findById(_id).lean<UserRecord>().exec() : Promise.resolve(null);
  }

  findInOrganization(organizationId: string, id: string): Promise<UserRecord | null> {
    const _id = toObjectId(id);
    if (!_id) return Promise.resolve(null);
    return this.model
      .findOne({ _id, organizationId: new Types.ObjectId(organizationId) })
      .lean<UserRecord>()
      .exec();
  }

  listByOrganization(organizationId: string): Promise<UserRecord[]> {
    return this.model
      .find({ organizationId: new Types.ObjectId(organizationId) })
      .sort({ createdAt: 1 })
      .lean<UserRecord[]>()
      .exec();
  }

  countActiveOwners(organizationId: string): Promise<number> {
    return this.model
      .countDocuments({
        organizationId: new Types.ObjectId(organizationId),
        role: 'owner',
        disabled: false,
      })
      .exec();
  }

  /**
   * `tokenVersionChange` 1 raises the token version: every token issued so far stops working; -1
   * undoes that (a disable taken back).
   */
  update(
    id: Types.ObjectId,
    patch: { role?: UserRole; disabled?: boolean },
    tokenVersionChange: -1 | 0 | 1 = 0,
  ): Promise<UserRecord | null> {
    return this.model
      .findByIdAndUpdate(
        id,
        {
          $set: patch,
          ...(tokenVersionChange ? { $inc: { tokenVersion: tokenVersionChange } } : {}),
        },
        { returnDocument: 'after' },
      )
      .lean<UserRecord>()
      .exec();
  }
}
