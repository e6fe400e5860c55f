import { type BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { KeyedCoalescingQueue, logTooManyWaiting, OutageRetries } from '@app/common';
import { WA_EVENTS, type WaContactsUpsertedEvent, type WaLidMappingEvent } from '@app/whatsapp';
import {
  CUSTOMERS_EVENTS,
  type CustomerCreatedEvent,
  type CustomerDeletedEvent,
  type CustomerPhoneChangedEvent,
  type LinkAllReplayedEvent,
} from '../customers/customers.events';
import { MESSAGING_EVENTS, type MessagesCreatedEvent } from '../messaging/messaging.events';
import {
  ORGANIZATION_EVENTS,
  type OrganizationModulesChangedEvent,
} from '../organizations/organizations.events';
import { type ContactObservation, observeContacts } from './contact-identity';
import { foldObservation, type SyncTarget } from './contact-rules';
import { ContactsSyncService } from './contacts-sync.service';
import { CustomerLinksService } from './customer-links.service';
import { LidMappingQueue } from './lid-mapping-queue';

/**
 * Event entry points of the contact sync. Handlers run off the emitter's call stack (`async`);
 * `promisify` lets an emitter that uses `emitAsync` wait for them. A failure is logged, never thrown:
 * a broken contact must not break message ingestion or crash the process.
 */
const LISTENER = { async: true, promisify: true } as const;
/**
 * A customer change the links follow: its failure is logged and thrown to the emitter, which
 * keeps the change's note for CustomerLinksRecovery.
 */
const FOLLOW = { ...LISTENER, suppressErrors: false } as const;
/**
 * Most contacts of one session waiting for the database (a 10-minute outage; a first link's
 * address book comes whole, in one event): a few hundred bytes each. Further ones are dropped (logged).
 */
export const MAX_HELD_CONTACTS = 100_000;
/**
 * Most distinct LID mappings of one session waiting for the database (a repeated one is not held
 * twice): about one per contact, a few hundred bytes each. Further ones are dropped (logged).
 */
export const MAX_HELD_LID_MAPPINGS = 100_000;

/** An engine contact waiting for its session's round, with the session it came through. */
interface HeldContact {
  target: SyncTarget;
  observed: ContactObservation;
}

@Injectable()
export class ContactsSyncListener implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ContactsSyncListener.name);
  /** Handlers still running: engine events are not awaited by their publisher. */
  private readonly running = new Set<Promise<unknown>>();
  /** Stopped at shutdown: what waits is tried once more; with the database away it gives up then. */
  private readonly outage = new OutageRetries(this.logger);
  /**
   * Engine contacts per session, folded per contact while they wait for their round (a database
   * outage holds a round): what waits is one observation per contact, however many events came.
   */
  private readonly engineContacts = new KeyedCoalescingQueue<HeldContact, HeldContact>({
    fold: (held, next) =>
      held
        ? { target: next.target, observed: foldObservation(held.observed, next.observed) }
        : next,
    process: (sessionId, round) => {
      const held = [...round.values()];
      return this.guard(WA_EVENTS.contactsUpserted, sessionId, () =>
        this.throughOutage(() =>
          this.sync.syncObserved(
            held[0].target,
            held.map((h) => h.observed),
          ),
        ),
      );
    },
    maxHeld: MAX_HELD_CONTACTS,
    onFull: logTooManyWaiting(this.logger, {
      limit: MAX_HELD_CONTACTS,
      waiting: 'contacts',
      dropped: 'further contacts',
    }),
  });

  /** LID mappings per session, in the order WhatsApp revealed them (see LidMappingQueue). */
  private readonly lidMappings = new LidMappingQueue({
    apply: (event) =>
      this.guard(WA_EVENTS.lidMapping, event?.sessionId, () =>
        this.throughOutage(() => this.sync.applyLidMapping(event)),
      ),
    maxHeld: MAX_HELD_LID_MAPPINGS,
    onFull: (sessionId) =>
      this.logger.error(
        { sessionId, limit: MAX_HELD_LID_MAPPINGS },
        "Too many LID mappings waiting for the database: further ones are dropped until those are written (each comes again with its sender's next message)",
      ),
  });

  constructor(
    private readonly sync: ContactsSyncService,
    private readonly links: CustomerLinksService,
  ) {}

  /**
   * Folded, per contact, into the session's next round of contacts (observed now: the time they
   * came, not when the database lets them be written); resolves once they were synced. Folding
   * gives what syncing each event in turn would store (see foldObservations), and one
   * `contact.updated` per contact and round instead of one per event.
   */
  @OnEvent(WA_EVENTS.contactsUpserted, LISTENER)
  onContacts(event: WaContactsUpsertedEvent): Promise<void> {
    const { sessionId, organizationId, sessionName } = event;
    const target = { sessionId, organizationId, sessionName };
    for (const observed of observeContacts(event.contacts, new Date()))
      this.engineContacts.push(sessionId, observed.jid, { target, observed });
    return this.engineContacts.settled(sessionId);
  }

  /** Queued behind the session's earlier mappings (see lidMappings); resolves once applied. */
  @OnEvent(WA_EVENTS.lidMapping, LISTENER)
  onLidMapping(event: WaLidMappingEvent): Promise<void> {
    return this.lidMappings.push(event);
  }

  @OnEvent(MESSAGING_EVENTS.created, LISTENER)
  async onMessagesCreated(event: MessagesCreatedEvent): Promise<void> {
    await this.guard(MESSAGING_EVENTS.created, event?.sessionId, () =>
      this.sync.recordMessages(event.messages, event.replayed),
    );
  }

  /** Followed as a phone change: read from the database, so a delete right after it is seen. */
  @OnEvent(CUSTOMERS_EVENTS.created, FOLLOW)
  async onCustomerCreated(event: CustomerCreatedEvent): Promise<void> {
    await this.guard(
      CUSTOMERS_EVENTS.created,
      event?.customer?.organizationId,
      () => this.links.followPhoneChange(event.customer, event.note),
      { rethrow: true },
    );
  }

  @OnEvent(CUSTOMERS_EVENTS.phoneChanged, FOLLOW)
  async onCustomerPhoneChanged(event: CustomerPhoneChangedEvent): Promise<void> {
    await this.guard(
      CUSTOMERS_EVENTS.phoneChanged,
      event?.customer?.organizationId,
      () => this.links.followPhoneChange(event.customer, event.note),
      { rethrow: true },
    );
  }

  @OnEvent(CUSTOMERS_EVENTS.deleted, FOLLOW)
  async onCustomerDeleted(event: CustomerDeletedEvent): Promise<void> {
    await this.guard(
      CUSTOMERS_EVENTS.deleted,
      event?.customer?.organizationId,
      () => this.links.unlinkDeletedCustomer(event.customer, event.note),
      { rethrow: true },
    );
  }

  @OnEvent(CUSTOMERS_EVENTS.linkAllReplayed, FOLLOW)
  async onLinkAllReplayed(event: LinkAllReplayedEvent): Promise<void> {
    await this.guard(
      CUSTOMERS_EVENTS.linkAllReplayed,
      event?.organizationId,
      () => this.links.relinkAll(event.organizationId),
      { rethrow: true },
    );
  }

  /** Awaited with the switch: the links are there when the request that turned crm on returns. */
  @OnEvent(ORGANIZATION_EVENTS.modulesChanged, LISTENER)
  async onModulesChanged(event: OrganizationModulesChangedEvent): Promise<void> {
    if (!event.modules.includes('crm') || event.previous.includes('crm')) return;
    await this.guard(ORGANIZATION_EVENTS.modulesChanged, event.organizationId, () =>
      this.links.linkAllCustomers(event.organizationId),
    );
  }

  /**
   * Lets the contact writes under way (a history sync's address book, say) reach the database
   * before its connection closes: contact events are not replayed, what is cut off is lost.
   * Handlers start on the event loop's next turn (`async`), so the ones already emitted start first.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.outage.stop();
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      // The database is away: the syncs queued behind the session's lock cannot be stored, and
      // each would hold the shutdown while its calls wait out server selection (10 s apiece).
      if (!this.running.size || this.outage.unreachable) return;
      await Promise.race(this.running); // one finished: look again
    }
  }

  /**
   * What the engine reports exists nowhere else (an address book is sent once per link): while the
   * database is unreachable it is tried again with backoff. Both syncs are upserts, safe to repeat.
   */
  private throughOutage(task: () => Promise<void>): Promise<void> {
    return this.outage.run(task, 'Database unreachable: contact sync waits');
  }

  /** Runs the handler, tracked for shutdown; a failure is logged, and thrown only if `rethrow`. */
  private async guard(
    name: string,
    scope: string | undefined,
    task: () => Promise<void>,
    { rethrow = false } = {},
  ): Promise<void> {
    const run = (async () => {
      try {
        await task();
      } catch (err) {
        this.logger.error({ err, event: name, scope }, `Contact sync failed for ${name}`);
        return { err };
      }
    })();
    this.running.add(run);
    const failed = await run; // never rejects
    this.running.delete(run);
    if (failed && rethrow) throw failed.err;
  }
}
