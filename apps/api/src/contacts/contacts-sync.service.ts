import { Injectable, Logger } from '@nestjs/common';
import type { WaContactsUpsertedEvent, WaLidMappingEvent } from '@app/whatsapp';
import { MessageHistoryService } from '../messaging/message-history.service';
import type { MessageRecord } from '../messaging/message.types';
import {
  observationsFromMessage,
  observeContacts,
  phoneJid,
  toLid,
  toPhone,
  type ContactObservation,
} from './contact-identity';
import { ContactLocks, RecentKeys } from './contact-locks';
import {
  buildSyncUpdate,
  foldObservations,
  pushNameTime,
  pushNameUpdate,
  type SyncTarget,
} from './contact-rules';
import { ContactEventsPublisher } from './contacts.events';
import { ContactRecord, ContactsRepository } from './contacts.repository';
import { CustomerLinksService, type LinkCandidate } from './customer-links.service';
import { LidMergeService } from './lid-merge.service';

/** Remembered message ids, so a re-delivered `message.created` event is not counted twice. */
const RECENT_MESSAGES = 20_000;

/**
 * Keeps the contact book in step with WhatsApp: engine contact events, LID↔phone mappings and
 * the peers of stored messages. Every write of one session runs under that session's lock;
 * every update is an idempotent upsert, so duplicates and reordering are harmless.
 */
@Injectable()
export class ContactsSyncService {
  private readonly logger = new Logger(ContactsSyncService.name);
  private readonly recentMessages = new RecentKeys(RECENT_MESSAGES);

  constructor(
    private readonly contacts: ContactsRepository,
    private readonly links: CustomerLinksService,
    private readonly locks: ContactLocks,
    private readonly publish: ContactEventsPublisher,
    private readonly messages: MessageHistoryService,
    private readonly lids: LidMergeService,
  ) {}

  /** Engine contacts (contacts.upsert / update, history sync). */
  async syncContacts(event: WaContactsUpsertedEvent): Promise<void> {
    await this.syncObserved(event, observeContacts(event.contacts, new Date()));
  }

  /** Engine contacts already observed (see observeContacts), e.g. folded while they waited. */
  async syncObserved(ref: SyncTarget, observations: ContactObservation[]): Promise<void> {
    await this.applyAll(ref, observations, 'all');
  }

  /**
   * Stored messages of one session (in or out): their peers appear, counts and lastMessageAt move.
   * A crash replay may bring messages whose counts already moved: their contacts are recounted.
   */
  async recordMessages(messages: MessageRecord[], replayed = false): Promise<void> {
    const fresh = messages.filter(
      (m) => !m._id || !this.recentMessages.seen(`${m.sessionId}:${String(m._id)}`),
    );
    if (!fresh.length) return;
    const observations = fresh.flatMap(observationsFromMessage);
    // Message traffic only announces new contacts, not every count bump.
    await this.applyAll(fresh[0], observations, 'new');
    if (replayed) await this.recount(targetOf(fresh[0]), observations);
  }

  /**
   * Sets the message counts of the observed peers to their chat messages under any of their
   * addresses (phone, LID), which is what the increments add up to when each ran once.
   */
  private async recount(target: SyncTarget, observations: ContactObservation[]): Promise<void> {
    // Each counted peer once, with the LID it may be stored under instead.
    const lids = new Map<string, string | undefined>();
    for (const o of observations) if (o.message && !lids.get(o.jid)) lids.set(o.jid, o.lid);
    await this.locks.run(target.sessionId, async () => {
      for (const [jid, lid] of lids) {
        const contact =
          (await this.contacts.findByJid(target, jid)) ??
          (lid ? await this.contacts.findByLid(target, lid) : null);
        if (!contact) continue;
        const addresses = [contact.jid, contact.lid, contact.phone && phoneJid(contact.phone)];
        const count = await this.messages.countChatMessages(
          target,
          addresses.filter((a): a is string => !!a),
        );
        await this.contacts.setMessageCount(contact._id, count);
      }
    });
  }

  /**
   * WhatsApp revealed which phone a LID belongs to: the mapping is recorded (for contacts written
   * later, e.g. by a message from the LID still being ingested), and the contacts that exist now
   * are joined.
   */
  async applyLidMapping(event: WaLidMappingEvent): Promise<void> {
    const lid = toLid(event.lid);
    const phone = toPhone(event.pn);
    if (!lid || !phone) {
      this.logger.warn({ sessionId: event.sessionId }, 'Ignoring a malformed LID mapping');
      return;
    }
    const target = targetOf(event);
    const merged = await this.locks.run(target.sessionId, async () => {
      const { contact, gainedPhone } = await this.lids.reveal(target, lid, phone);
      if (contact && gainedPhone) await this.links.linkContacts(target.organizationId, [contact]);
      return contact;
    });
    await this.publish.updated([merged && (await this.contacts.findByJid(target, merged.jid))]);
  }

  /**
   * Applies observations under the session's lock. Ones that carry a LID may merge or re-key
   * contacts and go one by one; the rest are folded per JID and written in one bulk upsert.
   */
  private async applyAll(
    ref: SyncTarget,
    observations: ContactObservation[],
    announce: 'all' | 'new',
  ): Promise<void> {
    if (!observations.length) return;
    const target = targetOf(ref);
    const carriesLid = (o: ContactObservation) => !o.isGroup && !!o.lid;
    const changed = await this.locks.run(target.sessionId, async () => {
      const results: Applied[] = [];
      for (const observation of observations.filter(carriesLid))
        results.push(...(await this.applyOrLog(target, observation)));
      const plain = foldObservations(observations.filter((o) => !carriesLid(o)));
      results.push(...(await this.applyPlain(target, plain)));
      const toLink = results.flatMap((r) => (r.link ? [r.link] : []));
      await this.links.linkContacts(target.organizationId, toLink);
      const touched = results.filter((r) => announce === 'all' || r.inserted || r.link);
      return [...new Set(touched.map((r) => r.jid))];
    });
    if (changed.length === 0) return;
    // Announce the stored state (after any customer link) to event subscribers.
    await this.publish.updated(await this.contacts.findByJids(target, changed));
  }

  /**
   * Folded observations without a LID: one read, then one bulk upsert; a failed one is retried on
   * its own. The read spares the pushName write where the stored one is the same or newer (most
   * messages); where the contact was missing it is sent anyway (it is conditional, so a contact
   * created concurrently still gets the newest name).
   */
  private async applyPlain(
    target: SyncTarget,
    observations: ContactObservation[],
  ): Promise<Applied[]> {
    if (!observations.length) return [];
    const stored = await this.storedNames(target, observations);
    const { outcomes, retry, rejected } = await this.contacts.bulkUpsert(
      target,
      observations.map((o) => {
        const known = stored.get(o.jid);
        const at = pushNameTime(o);
        const rename =
          !!o.pushName &&
          (!known ||
            (known.pushName !== o.pushName && (!known.pushNameAt || known.pushNameAt <= at)));
        return {
          jid: o.jid,
          update: buildSyncUpdate(o, target),
          pushName: rename ? pushNameUpdate(o.pushName!, at) : undefined,
        };
      }),
    );
    // New contacts by phone whose LID was revealed before they existed get it.
    const newPhones = outcomes.flatMap(({ index, insertedId }) => {
      const phone = observations[index].phone;
      return insertedId && phone && !observations[index].isGroup ? [phone] : [];
    });
    await this.lids.completeNew(target, newPhones).catch((err: unknown) => {
      // Not lost: the LID's next sighting joins them (its mapping is recorded).
      this.logger.error(
        { err, sessionId: target.sessionId },
        'Failed to join new contacts to LIDs',
      );
    });
    const results: Applied[] = outcomes.map(({ index, jid, insertedId }) => {
      const phone = observations[index].phone;
      // A new contact has no customer yet: one with a phone is a link candidate.
      const link =
        insertedId && phone
          ? { _id: insertedId, jid, phone, customerId: null, customerLinkSource: null }
          : undefined;
      return { jid, inserted: !!insertedId, link };
    });
    // One bad contact never stops the rest of a batch.
    if (rejected.length)
      this.logger.error(
        { sessionId: target.sessionId, count: rejected.length },
        'The database refused some contacts of a sync batch',
      );
    for (const i of retry) results.push(...(await this.applyOrLog(target, observations[i])));
    return results;
  }

  /** The stored pushNames of the observed contacts that carry one (our own messages carry none). */
  private async storedNames(
    target: SyncTarget,
    observations: ContactObservation[],
  ): Promise<Map<string, Pick<ContactRecord, 'pushName' | 'pushNameAt'>>> {
    const named = observations.filter((o) => o.pushName).map((o) => o.jid);
    if (!named.length) return new Map();
    return new Map((await this.contacts.namesByJids(target, named)).map((c) => [c.jid, c]));
  }

  /** One bad contact never stops the rest of a batch: its failure is logged, nothing returned. */
  private async applyOrLog(target: SyncTarget, o: ContactObservation): Promise<Applied[]> {
    try {
      return [await this.apply(target, o)];
    } catch (err) {
      this.logger.error({ err, sessionId: target.sessionId }, 'Failed to sync a contact');
      return [];
    }
  }

  private async apply(target: SyncTarget, observed: ContactObservation): Promise<Applied> {
    let o = observed;
    let jid = o.jid;
    let gainedPhone = false;
    if (!o.isGroup && o.lid && !o.phone) {
      // The LID may already be known as part of a phone contact: update that one. Otherwise a
      // mapping revealed before this contact was written (its message still being ingested, or a
      // crash between recording and merging) gives the phone.
      const known = await this.contacts.findByLid(target, o.lid);
      const phone = known?.phone ? undefined : await this.lids.phoneOf(target, o.lid);
      if (phone) o = { ...o, jid: phoneJid(phone), phone };
      else if (known) jid = known.jid;
    }
    if (!o.isGroup && o.lid && o.phone) {
      jid = o.jid;
      gainedPhone = (await this.lids.merge(target, o.lid, o.phone)).gainedPhone;
    }
    const { contact: upserted, inserted } = await this.contacts.upsert(
      target,
      jid,
      buildSyncUpdate(o, target),
    );
    let contact = upserted;
    if (inserted && !o.isGroup && o.phone && !o.lid) {
      // A LID revealed before this contact existed.
      await this.lids.completeNew(target, [o.phone]);
      contact = (await this.contacts.findByJid(target, jid)) ?? contact;
    }
    if (o.pushName && contact.pushName !== o.pushName) {
      const fields = pushNameUpdate(o.pushName, pushNameTime(o));
      await this.contacts.setPushNameIfNewer(contact._id, fields);
      if (!contact.pushNameAt || new Date(contact.pushNameAt) <= fields.pushNameAt)
        contact = { ...contact, ...fields };
    }
    const linkCandidate =
      (inserted || gainedPhone) &&
      !!contact.phone &&
      !contact.customerId &&
      contact.customerLinkSource !== 'manual';
    return { jid: contact.jid, inserted, link: linkCandidate ? contact : undefined };
  }
}

/** One applied observation: the contact's key, whether it is new, and itself if it may be auto-linked. */
interface Applied {
  jid: string;
  inserted: boolean;
  link?: LinkCandidate;
}

function targetOf(ref: SyncTarget): SyncTarget {
  return {
    organizationId: ref.organizationId,
    sessionId: ref.sessionId,
    sessionName: ref.sessionName,
  };
}
