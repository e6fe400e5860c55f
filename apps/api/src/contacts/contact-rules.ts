import { phoneSearchKeys, searchTokens } from '@app/common';
import type { ContactObservation } from './contact-identity';
import type { CustomerLinkSource } from './schemas/contact.schema';

/** Fields only the user (REST) writes; a sync never sets them on an existing contact. */
export const USER_OWNED_FIELDS = [
  'customName',
  'searchCustomName',
  'tags',
  'notes',
  'customerId',
  'customerLinkSource',
] as const;

export const MAX_TAGS = 20;
export const MAX_TAG_LENGTH = 32;
export const MAX_NOTES_LENGTH = 2000;

export interface SyncTarget {
  organizationId: string;
  sessionId: string;
  sessionName: string;
}

export interface SyncUpdate {
  $set: Record<string, unknown>;
  $setOnInsert: Record<string, unknown>;
  $min: { firstSeenAt: Date };
  $max?: { lastMessageAt: Date };
  $inc?: { messageCount: number };
}

/**
 * The idempotent, order-independent upsert for one observation: `$set` only for sync-owned
 * fields the observation carries, `$min`/`$max` for first/last times, `$inc` only for messages,
 * defaults for user-owned fields only on insert. On an existing contact `pushName` is applied
 * separately (see pushNameUpdate) so an older observation never overwrites a newer one.
 */
export function buildSyncUpdate(o: ContactObservation, target: SyncTarget): SyncUpdate {
  const $set: Record<string, unknown> = { sessionName: target.sessionName, isGroup: o.isGroup };
  if (o.phone) {
    $set.phone = o.phone;
    $set.searchPhone = phoneSearchKeys(o.phone);
  }
  if (o.lid) $set.lid = o.lid;
  if (o.addressBookName !== undefined) {
    $set.addressBookName = o.addressBookName;
    $set.searchAddressBookName = searchTokens(o.addressBookName);
  }
  if (o.verifiedName !== undefined) $set.verifiedName = o.verifiedName;
  if (o.isBusiness !== undefined) $set.isBusiness = o.isBusiness;
  if (o.profilePictureUrl !== undefined) $set.profilePictureUrl = o.profilePictureUrl;

  const $setOnInsert: Record<string, unknown> = {
    customName: null,
    searchCustomName: [],
    tags: [],
    notes: null,
    customerId: null,
    customerLinkSource: null,
  };
  // A new contact gets its pushName in the same write; an existing one through pushNameUpdate.
  if (o.pushName) Object.assign($setOnInsert, pushNameUpdate(o.pushName, pushNameTime(o)));
  const update: SyncUpdate = { $set, $setOnInsert, $min: { firstSeenAt: o.observedAt } };
  if (o.message) {
    update.$inc = { messageCount: o.message.count ?? 1 };
    update.$max = { lastMessageAt: o.message.at };
  } else {
    $setOnInsert.messageCount = 0;
  }
  return update;
}

export const pushNameTime = (o: ContactObservation): Date => o.pushNameAt ?? o.observedAt;

/**
 * Folds observations of the same contact (a batch of messages, a contact list with repeats) into
 * one per JID, with the same effect as applying them one by one: the earliest sighting, the
 * latest pushName and message time, message counts summed, other fields from the latest that has them.
 */
export function foldObservations(observations: ContactObservation[]): ContactObservation[] {
  const byJid = new Map<string, ContactObservation>();
  for (const o of observations) {
    const seen = byJid.get(o.jid);
    byJid.set(o.jid, seen ? foldObservation(seen, o) : o);
  }
  return [...byJid.values()];
}

/** Two observations of the same contact as one (see foldObservations). */
export function foldObservation(a: ContactObservation, b: ContactObservation): ContactObservation {
  const [older, newer] = a.observedAt <= b.observedAt ? [a, b] : [b, a];
  const defined = Object.fromEntries(Object.entries(newer).filter(([, v]) => v !== undefined));
  const folded: ContactObservation = { ...older, ...defined, observedAt: older.observedAt };
  const namer = [a, b]
    .filter((o) => o.pushName)
    .reduce<ContactObservation | undefined>(
      // At the same time, the later one (as applying them in turn would leave it).
      (best, o) => (!best || pushNameTime(o) >= pushNameTime(best) ? o : best),
      undefined,
    );
  if (namer) {
    folded.pushName = namer.pushName;
    folded.pushNameAt = pushNameTime(namer);
  }
  if (a.message || b.message) {
    const times = [a.message?.at, b.message?.at].filter((t): t is Date => !!t);
    folded.message = {
      at: new Date(Math.max(...times.map((t) => t.getTime()))),
      count: (a.message ? (a.message.count ?? 1) : 0) + (b.message ? (b.message.count ?? 1) : 0),
    };
  }
  return folded;
}

export function pushNameUpdate(
  pushName: string,
  at: Date,
): { pushName: string; searchPushName: string[]; pushNameAt: Date } {
  return { pushName, searchPushName: searchTokens(pushName), pushNameAt: at };
}

/**
 * Invisible format characters a paste or a right-to-left keyboard slips into text: zero-width
 * space, soft hyphen, direction marks, embeddings and isolates, word joiner, byte order mark. Not
 * the zero-width joiners, which shape emoji and Persian words.
 */
const INVISIBLE = /[\u00ad\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

/**
 * Trimmed, lower-cased, invisible marks dropped, de-duplicated (first occurrence keeps its place);
 * blank ones dropped, or kept (once, as '') with `keepBlank` so input validation can reject them.
 */
export function normalizeTags(tags: readonly unknown[], { keepBlank = false } = {}): string[] {
  const out = new Set<string>(); // insertion-ordered, and linear however many tags come
  for (const tag of tags) {
    if (typeof tag !== 'string') continue;
    const t = tag
      .normalize('NFKC')
      .replace(INVISIBLE, '')
      .trim()
      .replace(/\s+/g, ' ')
      .toLowerCase();
    if (t || keepBlank) out.add(t);
  }
  return [...out];
}

/** The same tag as stored: `normalizeTags` of one value (blank when nothing is left). */
export const normalizeTag = (tag: string): string => normalizeTags([tag], { keepBlank: true })[0];

/**
 * Tags and notes past their limits, per field. A contact merged from two (a LID folded into its
 * phone contact) keeps everything of both, so it may hold more: such a value is accepted back as
 * long as it does not grow (tags a subset of the stored ones, notes no longer), so a client that
 * writes back what it read, or trims it, is not refused.
 */
export function limitViolations(
  edit: { tags?: string[] | null; notes?: string | null },
  stored: { tags?: string[]; notes?: string | null },
): Record<string, string[]> {
  const violations: Record<string, string[]> = {};
  const tags = edit.tags ?? [];
  if (tags.length > MAX_TAGS && !tags.every((t) => stored.tags?.includes(t)))
    violations.tags = [`tags must contain at most ${MAX_TAGS} distinct tags`];
  // Characters as MaxLength counts them elsewhere (code points: an emoji is one, not two).
  const chars = (s: string | null | undefined) => [...(s ?? '')].length;
  if (chars(edit.notes) > Math.max(MAX_NOTES_LENGTH, chars(stored.notes)))
    violations.notes = [`notes must be shorter than or equal to ${MAX_NOTES_LENGTH} characters`];
  return violations;
}

/** The fields of a stored contact the merge reads. */
export interface MergeableContact {
  jid: string;
  lid?: string;
  phone?: string;
  addressBookName?: string;
  pushName?: string;
  pushNameAt?: Date;
  verifiedName?: string;
  isBusiness?: boolean;
  profilePictureUrl?: string;
  firstSeenAt: Date;
  lastMessageAt?: Date;
  messageCount?: number;
  customName?: string | null;
  tags?: string[];
  notes?: string | null;
  customerId?: string | null;
  customerLinkSource?: CustomerLinkSource | null;
}

export type MergedContact = Record<string, unknown>;

const time = (d: Date | undefined) => (d ? new Date(d).getTime() : undefined);

/**
 * One document for one person once WhatsApp reveals that `lidDoc` (keyed by `@lid`) and
 * `phoneDoc` (keyed by phone JID) are the same: the phone JID stays the key, the LID is kept;
 * counts add up, firstSeenAt is the earliest, lastMessageAt the latest, tags are united;
 * sync fields prefer the phone document (pushName: the newer one); user fields come from the
 * document that has them (the phone document's when both do; differing notes are both kept).
 */
export function mergeContacts(
  phoneDoc: MergeableContact,
  lidDoc: MergeableContact,
  lid: string,
  phone: string,
): MergedContact {
  const merged: MergedContact = {
    jid: `${phone}@s.whatsapp.net`,
    lid,
    phone,
    searchPhone: phoneSearchKeys(phone),
    isGroup: false,
  };
  const prefer = <K extends keyof MergeableContact>(key: K) => phoneDoc[key] ?? lidDoc[key];

  const addressBookName = prefer('addressBookName');
  if (addressBookName !== undefined) {
    merged.addressBookName = addressBookName;
    merged.searchAddressBookName = searchTokens(addressBookName as string);
  }
  const lidPushIsNewer =
    !!lidDoc.pushName &&
    (!phoneDoc.pushName || (time(lidDoc.pushNameAt) ?? 0) > (time(phoneDoc.pushNameAt) ?? 0));
  const push = lidPushIsNewer ? lidDoc : phoneDoc;
  if (push.pushName) {
    merged.pushName = push.pushName;
    merged.searchPushName = searchTokens(push.pushName);
    if (push.pushNameAt) merged.pushNameAt = push.pushNameAt;
  }
  for (const key of ['verifiedName', 'isBusiness', 'profilePictureUrl'] as const) {
    const value = prefer(key);
    if (value !== undefined && value !== null) merged[key] = value;
  }

  merged.firstSeenAt = new Date(
    Math.min(time(phoneDoc.firstSeenAt) ?? Infinity, time(lidDoc.firstSeenAt) ?? Infinity),
  );
  const last = Math.max(
    time(phoneDoc.lastMessageAt) ?? -Infinity,
    time(lidDoc.lastMessageAt) ?? -Infinity,
  );
  if (Number.isFinite(last)) merged.lastMessageAt = new Date(last);
  merged.messageCount = (phoneDoc.messageCount ?? 0) + (lidDoc.messageCount ?? 0);

  const customName = phoneDoc.customName ?? lidDoc.customName ?? null;
  merged.customName = customName;
  merged.searchCustomName = searchTokens(customName);
  merged.tags = normalizeTags([...(phoneDoc.tags ?? []), ...(lidDoc.tags ?? [])]);
  merged.notes = mergeNotes(phoneDoc.notes, lidDoc.notes);

  // A user's choice (a manual link, or a manual unlink) beats an automatic match by phone; the
  // phone document's first when both have one.
  const chosen =
    [phoneDoc, lidDoc].find((d) => d.customerLinkSource === 'manual') ??
    [phoneDoc, lidDoc].find((d) => d.customerId);
  merged.customerId = chosen?.customerId ?? null;
  merged.customerLinkSource = chosen?.customerLinkSource ?? (chosen?.customerId ? 'auto' : null);
  return merged;
}

/**
 * The survivor of a merge that wrote `before` (the LID document as read) into it, with what a user
 * changed on the LID document since (`now`): a merge tried again must not let the values it copied
 * earlier outvote that edit (a rename, a removed tag, an edited note, another customer link).
 */
export function withLidEdits<T extends MergeableContact>(
  survivor: T,
  before: MergeableContact,
  now: MergeableContact,
): T {
  const edited = { ...survivor };
  const same = (a: unknown, b: unknown) => (a ?? null) === (b ?? null);
  // A name or link the survivor took from the LID document (not its own, which the merge kept).
  if (!same(now.customName, before.customName) && same(survivor.customName, before.customName))
    edited.customName = now.customName;
  const kept = new Set(now.tags ?? []);
  const removed = new Set((before.tags ?? []).filter((tag) => !kept.has(tag)));
  if (removed.size) edited.tags = (survivor.tags ?? []).filter((tag) => !removed.has(tag));
  if ((now.notes ?? null) !== (before.notes ?? null))
    edited.notes = before.notes
      ? (survivor.notes ?? '').replace(before.notes, '').trim() || null
      : survivor.notes;
  const linkOf = (c: MergeableContact) => `${c.customerId ?? ''}|${c.customerLinkSource ?? ''}`;
  if (linkOf(now) !== linkOf(before) && linkOf(survivor) === linkOf(before)) {
    edited.customerId = now.customerId;
    edited.customerLinkSource = now.customerLinkSource;
  }
  return edited;
}

/** Both notes, once: b already in a (a merge tried again) is not added twice. */
function mergeNotes(a: string | null | undefined, b: string | null | undefined): string | null {
  if (a && b && !a.includes(b)) return `${a}\n\n${b}`;
  return a || b || null;
}

/** What a contact is called in lists: the user's name, the address book's, the verified business name, the pushName, the number. */
export function displayNameOf(c: {
  customName?: string | null;
  addressBookName?: string;
  verifiedName?: string;
  pushName?: string;
  phone?: string;
  jid: string;
}): string {
  return (
    c.customName ||
    c.addressBookName ||
    c.verifiedName ||
    c.pushName ||
    (c.phone ? `+${c.phone}` : c.jid.split('@')[0])
  );
}
