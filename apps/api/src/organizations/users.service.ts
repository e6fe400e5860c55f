import { Injectable } from '@nestjs/common';
import { Types } from 'mongoose';
import { ExpiringCache, hashPassword, isDuplicateKeyError } from '@app/common';
import type { AuthUser } from '../auth/auth-user';
import type { CreateUserDto, UpdateUserDto } from './dto/user.dto';
import {
  EmailTakenError,
  LastOwnerError,
  RoleNotAllowedError,
  UserNotFoundError,
} from './organizations.errors';
import { UserRecord, UsersRepository } from './organizations.repository';
import type { UserRole } from './schemas/user.schema';

const ACTIVE_USER_CACHE_MS = 5_000;
const CACHE_CAPACITY = 10_000;

export interface NewUser {
  organizationId: string;
  name: string;
  email: string;
  password: string;
  role: UserRole;
  phone?: string;
}

@Injectable()
export class UsersService {
  // Every authenticated request re-checks its user (deleted/disabled tokens die quickly); cached briefly.
  private readonly activeCache = new ExpiringCache<UserRecord | null>(
    ACTIVE_USER_CACHE_MS,
    CACHE_CAPACITY,
  );

  constructor(private readonly users: UsersRepository) {}

  async create(input: NewUser): Promise<UserRecord> {
    const passwordHash = await hashPassword(input.password);
    try {
      return await this.users.create({
        organizationId: new Types.ObjectId(input.organizationId),
        name: input.name,
        email: input.email.toLowerCase(),
        phone: input.phone,
        passwordHash,
        role: input.role,
      });
    } catch (error) {
      if (isDuplicateKeyError(error)) throw new EmailTakenError();
      throw error;
    }
  }

  findByEmail(email: string): Promise<UserRecord | null> {
    return this.users.findByEmail(email);
  }

  async getInOrganization(organizationId: string, userId: string): Promise<UserRecord> {
    const user = await this.users.findInOrganization(organizationId, userId);
    if (!user) throw new UserNotFoundError();
    return user;
  }

  list(organizationId: string): Promise<UserRecord[]> {
    return this.users.listByOrganization(organizationId);
  }

  /** The user behind a token, or null when deleted or disabled. */
  async findActive(userId: string): Promise<UserRecord | null> {
    const cached = this.activeCache.get(userId);
    if (cached !== undefined) return cached;
    const found = await this.users.findById(userId);
    const user = found && !found.disabled ? found : null;
    this.activeCache.set(userId, user);
    return user;
  }

  invite(actor: AuthUser, dto: CreateUserDto): Promise<UserRecord> {
    if (dto.role === 'admin' && actor.role !== 'owner')
      throw new RoleNotAllowedError('Only owners can create admins');
    return this.create({ ...dto, organizationId: actor.organizationId });
  }

  async update(actor: AuthUser, userId: string, patch: UpdateUserDto): Promise<UserRecord> {
    const target = await this.getInOrganization(actor.organizationId, userId);
    if (actor.role !== 'owner') {
      if (target.role !== 'member')
        throw new RoleNotAllowedError('Only owners can change owners or admins');
      if (patch.role && patch.role !== 'member')
        throw new RoleNotAllowedError('Only owners can grant the admin or owner role');
    }
    const losesOwnership =
      target.role === 'owner' &&
      ((patch.role && patch.role !== 'owner') || patch.disabled === true);
    const keepsOwners = () => this.users.countActiveOwners(actor.organizationId);
    if (losesOwnership && !target.disabled && (await keepsOwners()) <= 1) {
      throw new LastOwnerError();
    }
    const revokes = patch.disabled === true && !target.disabled;
    const updated = await this.users.update(target._id, patch, revokes ? 1 : 0);
    if (!updated) throw new UserNotFoundError();
    this.activeCache.delete(userId);
    // Two owners demoting or disabling each other at once both pass the check above; whichever
    // then finds no active owner left undoes its own change (at least one of them does).
    if (losesOwnership && !target.disabled && (await keepsOwners()) === 0) {
      // Taken back whole: the tokens the disable revoked work again.
      await this.users.update(
        target._id,
        { role: target.role, disabled: target.disabled },
        revokes ? -1 : 0,
      );
      // Requests meanwhile may have cached the change: the user would read disabled for seconds.
      this.activeCache.delete(userId);
      throw new LastOwnerError();
    }
    return updated;
  }
}
