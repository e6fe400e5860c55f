import { jidDecode } from '@whiskeysockets/baileys';
import { digits, lidUser, randomLid } from './ids';
import { SignalDevice } from './signal-device';
import type {
  AccountRecord,
  AnyUser,
  CompanionRecord,
  LidUserRecord,
  StateStore,
  UserRecord,
} from './state';

/**
 * Who exists on the emulated WhatsApp: users (an account's own phone, or a contact) with their
 * phone, LID and Signal device 0, and accounts with their linked companion devices.
 */
export class Directory {
  constructor(private readonly store: StateStore) {}

  /** Finds or creates the simulated WhatsApp user with this phone number. */
  user(phone: string, profile: { pushName?: string; lid?: string } = {}): UserRecord {
    const p = digits(phone);
    let user = this.store.state.users[p];
    if (!user) {
      user = {
        phone: p,
        lid: profile.lid ? digits(profile.lid) : randomLid(),
        pushName: profile.pushName ?? '',
        device: SignalDevice.create().toJSON(),
      };
      this.store.state.users[p] = user;
      this.store.save();
    } else if (profile.pushName && profile.pushName !== user.pushName) {
      user.pushName = profile.pushName;
      this.store.save();
    }
    return user;
  }

  /** The simulated user with a phone number and this LID (digits, optional `@lid`), if any. */
  userByLid(lid: string): UserRecord | undefined {
    const d = lidUser(lid);
    return Object.values(this.store.state.users).find((u) => u.lid === d);
  }

  /** Whoever has this LID: a user with a phone number, or a contact known only by LID. */
  anyUserByLid(lid: string): AnyUser | undefined {
    return this.userByLid(lid) ?? this.store.state.lidUsers?.[lidUser(lid)];
  }

  /**
   * Finds or creates a contact known only by its LID (WhatsApp has not revealed its phone number):
   * it writes from `…@lid` without `sender_pn`. A user with a phone number and this LID wins.
   */
  lidOnlyUser(lid: string, profile: { pushName?: string } = {}): AnyUser {
    const known = this.userByLid(lid);
    if (known) return this.user(known.phone, profile);
    const l = lidUser(lid);
    const lidUsers = (this.store.state.lidUsers ??= {});
    let user = lidUsers[l];
    if (!user) {
      user = {
        lid: l,
        pushName: profile.pushName ?? '',
        device: SignalDevice.create().toJSON(),
      };
      lidUsers[l] = user;
      this.store.save();
    } else if (profile.pushName && profile.pushName !== user.pushName) {
      user.pushName = profile.pushName;
      this.store.save();
    }
    return user;
  }

  /**
   * `lid` belongs to `phone` (what WhatsApp reveals to linked devices). A contact known only by
   * that LID becomes this phone's user and keeps its Signal device (the companion's session with
   * it lives under the LID, which the companion now maps the phone to). A user whose LID changes
   * drops its Signal sessions, so its next message starts a fresh one (pkmsg) the companion files
   * under the new LID.
   */
  linkLid(phone: string, lid: string): UserRecord {
    const p = digits(phone);
    const l = lidUser(lid);
    const owner = this.userByLid(l);
    if (owner && owner.phone !== p) throw new Error(`LID ${l} already belongs to ${owner.phone}`);
    const lidOnly: LidUserRecord | undefined = this.store.state.lidUsers?.[l];
    let user: UserRecord | undefined = this.store.state.users[p];
    if (lidOnly) {
      delete this.store.state.lidUsers![l];
      if (user) {
        user.lid = l;
        user.device = lidOnly.device;
        user.pushName ||= lidOnly.pushName;
      } else {
        user = { phone: p, lid: l, pushName: lidOnly.pushName, device: lidOnly.device };
        this.store.state.users[p] = user;
      }
    } else if (!user) {
      user = this.user(p, { lid: l });
    } else if (user.lid !== l) {
      user.lid = l;
      user.device.sessions = {};
    }
    this.store.save();
    return user;
  }

  /** The user behind a PN or LID JID (device part ignored); PN users are created unless `create` is false. */
  userByJid(jid: string, create = true): AnyUser | undefined {
    const decoded = jidDecode(jid);
    if (!decoded?.user) return undefined;
    if (decoded.server === 'lid') return this.anyUserByLid(decoded.user);
    if (decoded.server !== 's.whatsapp.net') return undefined;
    return create ? this.user(decoded.user) : this.store.state.users[decoded.user];
  }

  /** The user's phone (device 0) as a Signal device; save the store after using it. */
  device(user: AnyUser): SignalDevice {
    return SignalDevice.restore(user.device);
  }

  account(phone: string): AccountRecord | undefined {
    return this.store.state.accounts[digits(phone)];
  }

  /** The account of `phone`, created (with no companion yet) on first use. */
  ensureAccount(phone: string): AccountRecord {
    const p = digits(phone);
    return (this.store.state.accounts[p] ??= { phone: p, nextDeviceId: 1, companions: {} });
  }

  companion(account: string, deviceId: number): CompanionRecord | undefined {
    return this.account(account)?.companions[deviceId];
  }

  /** Linked (not removed) companions of `account`. */
  activeCompanions(account: string): CompanionRecord[] {
    return Object.values(this.account(account)?.companions ?? {}).filter((c) => !c.removed);
  }

  /** Linked companions of `account`, or only `deviceId`; throws when there is none. */
  targetCompanions(account: string, deviceId?: number): CompanionRecord[] {
    const companions = this.activeCompanions(account).filter(
      (c) => deviceId === undefined || c.deviceId === deviceId,
    );
    if (!companions.length)
      throw new Error(
        `account ${account} has no linked device${deviceId === undefined ? '' : ` ${deviceId}`}`,
      );
    return companions;
  }
}

/** The Signal address ("name.device") of a companion, as the emulator's devices key their sessions. */
export const companionAddress = (account: string, deviceId: number): string =>
  `${account}.${deviceId}`;
