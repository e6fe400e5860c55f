import { Injectable, Logger } from '@nestjs/common';
import { phoneJid } from './contact-identity';
import { mergeContacts, type SyncTarget, withLidEdits } from './contact-rules';
import { ContactRecord, ContactsRepository } from './contacts.repository';
import { LidMappingsRepository } from './lid-mappings.repository';

/**
 * Joins the LID and the phone of one person. A mapping WhatsApp reveals is recorded before it is
 * applied, so it also reaches contacts written after it: a message from the LID that was still
 * being ingested, a contact first seen by phone later, or a merge a crash cut off. Callers hold
 * the session's contact lock.
 */
/** Merges tried against contacts edited meanwhile before the LID contact goes regardless. */
const MERGE_TRIES = 3;
/** Writes of the merge refused (the phone contact edited at each) before it is left for later. */
const FOLD_ATTEMPTS = 10;

@Injectable()
export class LidMergeService {
  private readonly logger = new Logger(LidMergeService.name);

  constructor(
    private readonly contacts: ContactsRepository,
    private readonly mappings: LidMappingsRepository,
  ) {}

  /** WhatsApp revealed the phone of a LID: record it, then join the contacts that exist. */
  async reveal(
    target: SyncTarget,
    lid: string,
    phone: string,
  ): Promise<{ contact: ContactRecord | null; gainedPhone: boolean }> {
    await this.mappings.record(target, lid, phone);
    return this.merge(target, lid, phone);
  }

  /** The phone a recorded mapping gives this LID. */
  phoneOf(target: SyncTarget, lid: string): Promise<string | undefined> {
    return this.mappings.phoneOf(target, lid);
  }

  /** The LID a recorded mapping gives this phone (the latest mapped, if several). */
  async lidOf(target: SyncTarget, phone: string): Promise<string | undefined> {
    return (await this.mappings.lidsOf(target, [phone])).get(phone);
  }

  /**
   * Contacts just created by phone: the ones whose LID was revealed before get it, and a LID
   * contact of the same person left over (a crash between recording and merging) is folded in.
   */
  async completeNew(target: SyncTarget, phones: string[]): Promise<void> {
    if (!phones.length) return;
    const lids = await this.mappings.lidsOf(target, [...new Set(phones)]);
    for (const [phone, lid] of lids) await this.merge(target, lid, phone);
  }

  /**
   * Makes the LID and phone contacts of one person a single document keyed by the phone JID.
   * `gainedPhone`: a contact that was known only by its LID now has a phone (worth an auto-link).
   */
  async merge(
    target: SyncTarget,
    lid: string,
    phone: string,
  ): Promise<{ contact: ContactRecord | null; gainedPhone: boolean }> {
    const byPhoneJid = phoneJid(phone);
    const [phoneDoc, lidDoc] = await Promise.all([
      this.contacts.findByJid(target, byPhoneJid),
      this.contacts.findByJid(target, lid),
    ]);
    if (!lidDoc) {
      if (phoneDoc && phoneDoc.lid !== lid)
        return {
          contact: await this.contacts.setIdentity(phoneDoc._id, { lid }),
          gainedPhone: false,
        };
      return { contact: phoneDoc, gainedPhone: false };
    }
    if (!phoneDoc) {
      const contact = await this.contacts.setIdentity(lidDoc._id, { jid: byPhoneJid, lid, phone });
      this.logger.debug({ sessionId: target.sessionId }, 'Re-keyed a LID contact by its phone');
      return { contact, gainedPhone: true };
    }
    return this.fold(target, phoneDoc, lidDoc, lid, phone);
  }

  /**
   * Folds the LID document into the phone document. The survivor is written first, so a crash in
   * between never loses the user's tags or notes. Both writes hold only while the contact is at
   * the revision read: a user's edit made meanwhile (on another instance: the lock is this
   * process's) is read again and folded in instead of being overwritten or deleted.
   */
  private async fold(
    target: SyncTarget,
    phoneDoc: ContactRecord,
    lidDoc: ContactRecord,
    lid: string,
    phone: string,
  ): Promise<{ contact: ContactRecord | null; gainedPhone: boolean }> {
    const gainedPhone = !phoneDoc.customerId;
    // The LID document as the phone contact last got it (its messages counted there already).
    let written: ContactRecord | undefined;
    for (let attempt = 1; ; attempt++) {
      const source = written ? { ...lidDoc, messageCount: 0 } : lidDoc;
      const merged = mergeContacts(phoneDoc, source, lid, phone);
      const contact = await this.contacts.applyMerge(phoneDoc._id, merged, phoneDoc.revision);
      if (contact) {
        written = lidDoc;
        // Past the last try, the LID contact goes whatever changed (as before revisions).
        const removed =
          attempt < MERGE_TRIES
            ? await this.contacts.deleteAtRevision(lidDoc._id, lidDoc.revision)
            : (await this.contacts.deleteById(lidDoc._id), true);
        if (removed) {
          this.logger.log(
            {
              sessionId: target.sessionId,
              kept: String(phoneDoc._id),
              removed: String(lidDoc._id),
            },
            'Merged a LID contact into its phone contact',
          );
          return { contact, gainedPhone };
        }
      }
      const [phoneNow, lidNow] = await Promise.all([
        this.contacts.findByJid(target, phoneDoc.jid),
        this.contacts.findByJid(target, lidDoc.jid),
      ]);
      this.logger.debug({ sessionId: target.sessionId, attempt }, 'A contact changed mid-merge');
      if (!phoneNow || !lidNow) return { contact: phoneNow, gainedPhone }; // deleted meanwhile
      if (attempt >= FOLD_ATTEMPTS) {
        // Edited at every try: both stay; the next sighting of the LID merges them.
        this.logger.warn({ sessionId: target.sessionId, attempt }, 'Gave up merging a LID contact');
        return { contact: phoneNow, gainedPhone: false };
      }
      // What a user changed on the LID contact since the phone contact got it wins.
      [phoneDoc, lidDoc] = [written ? withLidEdits(phoneNow, written, lidNow) : phoneNow, lidNow];
    }
  }
}
