import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnModuleInit,
} from '@nestjs/common';
import { KeyedBatchQueue } from '@app/common';
import { EventIdGenerator } from './event-id';
import { EventSequencesRepository } from './event-sequences.repository';
import { EVENTS_OPTIONS, type EventsOptions } from './events.options';
import { type EventQuery, EventsRepository, type SequencePage } from './events.repository';
import type { NewEvent, StoredEvent } from './events.types';

/** Pauses between the attempts of a live batch's fan-out before it is left to the recovery pass. */
const LIVE_FANOUT_RETRY_DELAYS_MS = [250, 1_000];

type StoredListener = (
  organizationId: string,
  stored: StoredEvent[],
  range: { first: number; last: number },
) => void;

/**
 * A live batch: all of one organization, with the `subscriptionsVersion` its reservation saw. While
 * the version is unchanged, nothing the organization's events go to changed since a batch with
 * that version: a subscriber may reuse what it read for it (see `changeSubscriptions`).
 */
export interface LiveBatch {
  organizationId: string;
  subscriptionsVersion: string | null;
}

/**
 * Gets every stored event once (at least once across crashes); e.g. webhooks create their
 * deliveries. `live` is absent for the recovery pass (events of any organizations, stored a while
 * ago): read the subscriptions afresh.
 */
export type EventSubscriber = (events: StoredEvent[], live?: LiveBatch) => Promise<void>;

/** What `store` returns per event; `first` and `subscriptionsVersion` are the batch's reservation's. */
interface StoreResult {
  /** Undefined for an event dropped as a repeat (same sourceKey). */
  event?: StoredEvent;
  first: number;
  subscriptionsVersion: string | null;
}

/**
 * The durable outbox. `append` is awaited by the domain-event handler, i.e. inside the producer's
 * `emitAsync`, right after the domain write. Per organization, appends are queued and written in
 * order (group commit: what queued up during one insert goes into the next). Each batch reserves
 * a range of the organization's event sequence (a counter in the database), which orders the
 * events of every instance for live streams (EventTailService).
 *
 * The reservation also enters the range in the sequence's fan-out ledger. After the insert, the
 * live streams' tail is handed the events, then subscribers (webhook fan-out) run, and the range
 * leaves the ledger once they succeeded. A periodic recovery re-runs the subscribers for ranges
 * left behind (a crash or a failure between the event write and its fan-out).
 */
@Injectable()
export class EventOutboxService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly log = new Logger(EventOutboxService.name);
  private readonly ids = new EventIdGenerator();
  private readonly appends: KeyedBatchQueue<NewEvent, StoreResult>;
  private readonly subscribers: EventSubscriber[] = [];
  private readonly storedListeners: StoredListener[] = [];
  /** Per organization, the live fan-out started last, while it runs (see queueFanOut). */
  private readonly liveFanOuts = new Map<string, Promise<void>>();
  private seeded?: Promise<void>;
  private recoveryTimer?: NodeJS.Timeout;
  private recovering?: Promise<boolean>;
  private stopped = false;
  /**
   * The boot recovery pass, started at module init: true once it went through the whole ledger.
   * Live batches fan out only after it, so events a previous process left behind reach webhooks
   * before newer ones (a reconnect delivers offline messages at once, while the pass is reading).
   * It depends on no other module's lifecycle hook, so a hook awaiting an append cannot deadlock.
   */
  private bootRecovered?: Promise<boolean>;

  constructor(
    private readonly events: EventsRepository,
    private readonly sequences: EventSequencesRepository,
    @Inject(EVENTS_OPTIONS) private readonly options: EventsOptions,
  ) {
    this.appends = new KeyedBatchQueue({
      maxBatch: options.maxBatch,
      process: (organizationId, events) => this.store(organizationId, events),
      afterBatch: async (organizationId, _events, results) => {
        const stored = results.flatMap((r) => (r.event ? [r.event] : []));
        // Also when every event was a repeat: their numbers are settled (never stored).
        const range = { first: results[0].first, last: results[0].first + results.length - 1 };
        for (const listener of this.storedListeners) listener(organizationId, stored, range);
        await this.queueFanOut(organizationId, stored, {
          organizationId,
          first: results[0].first,
          subscriptionsVersion: results[0].subscriptionsVersion,
        });
      },
    });
  }

  /**
   * Starts a live batch's fan-out after the organization's previous one, so fan-outs keep the
   * order of the batches; resolves once that previous one ended. The next batch is thus stored
   * while this one fans out (its reservation and insert overlap these subscribers and the
   * settle), and at most one batch waits for its fan-out behind the stores.
   */
  private async queueFanOut(
    organizationId: string,
    stored: StoredEvent[],
    range: LiveBatch & { first: number },
  ): Promise<void> {
    const previous = this.liveFanOuts.get(organizationId);
    const fanOut = (async () => {
      await previous;
      // A boot pass cut short by a shutdown leaves older batches to the next boot: so does this one.
      if (this.bootRecovered && !(await this.bootRecovered)) return;
      await this.fanOutLive(stored, range); // never throws: a failure is left to the recovery pass
    })();
    this.liveFanOuts.set(organizationId, fanOut);
    void fanOut.then(() => {
      if (this.liveFanOuts.get(organizationId) === fanOut) this.liveFanOuts.delete(organizationId);
    });
    await previous;
  }

  /** Subscribers are registered by now (constructors); the recovery needs nothing else. */
  async onModuleInit(): Promise<void> {
    this.seeded = this.events.newestId().then((id) => this.ids.seed(id));
    await this.seeded;
    const boot = this.recoverFanout(new Date());
    this.recovering = boot;
    this.bootRecovered = boot;
    this.recoveryTimer = setInterval(() => {
      if (!this.recovering)
        this.recovering = this.recoverFanout(
          new Date(Date.now() - this.options.fanoutRecoveryGraceMs),
        );
    }, this.options.fanoutRecoveryIntervalMs);
    this.recoveryTimer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.recoveryTimer);
    // Let queued appends reach the database, and their fan-outs run, before the connection closes.
    await Promise.allSettled([this.appends.idle(), this.recovering]);
    while (this.liveFanOuts.size) await Promise.allSettled([...this.liveFanOuts.values()]);
  }

  /** Call from the subscriber's constructor: the boot recovery starts at module init. */
  registerSubscriber(subscriber: EventSubscriber): void {
    if (this.bootRecovered)
      throw new Error('Event subscribers register in their constructor, before the boot recovery');
    this.subscribers.push(subscriber);
  }

  /**
   * Hears each batch this instance stored, right after the insert (before fan-out): the stored
   * events and the batch's whole range of sequence numbers (repeats dropped leave numbers unused).
   */
  onStored(listener: StoredListener): void {
    this.storedListeners.push(listener);
  }

  /**
   * Call after changing what the organization's events go to (e.g. a webhook written), before
   * answering: every batch that reserves its numbers afterwards, on any instance, hands its
   * subscribers a new `subscriptionsVersion`, so they read their subscriptions again.
   */
  changeSubscriptions(organizationId: string): Promise<void> {
    return this.sequences.changeSubscriptionsVersion(organizationId);
  }

  /** Stores an event; resolves once it is durable. Must be called synchronously from the domain-event handler (order). */
  async append(event: NewEvent): Promise<StoredEvent | undefined> {
    return (await this.appends.push(event.organizationId, event)).event;
  }

  /** The organization's last event sequence number handed out, on any instance (0 before any). */
  lastSequence(organizationId: string): Promise<number> {
    return this.sequences.current(organizationId);
  }

  findAfter(
    organizationId: string,
    afterId: string,
    query: EventQuery,
    limit: number,
  ): Promise<StoredEvent[]> {
    return this.events.findAfter(organizationId, afterId, query, limit);
  }

  findBySequence(
    organizationId: string,
    range: { afterSeq: number; uptoSeq?: number },
    query: EventQuery,
    limit: number,
  ): Promise<SequencePage> {
    return this.events.findBySequence(organizationId, range, query, limit);
  }

  findById(id: string): Promise<StoredEvent | null> {
    return this.events.findById(id);
  }

  private async store(organizationId: string, events: NewEvent[]): Promise<StoreResult[]> {
    await this.seeded;
    try {
      const { first, subscriptionsVersion } = await this.sequences.reserve(
        organizationId,
        events.length,
      );
      const candidates = events.map((event, i) => ({
        ...event,
        id: this.ids.next(),
        seq: first + i,
      }));
      const stored = new Set(await this.events.insertMany(candidates, new Date()));
      return candidates.map((event) => ({
        event: stored.has(event) ? event : undefined,
        first,
        subscriptionsVersion,
      }));
    } catch (err) {
      this.log.error({ err, organizationId, count: events.length }, 'Failed to store events');
      throw err;
    }
  }

  /**
   * A live batch's fan-out, tried again briefly before it is left to the recovery pass: the
   * organization's next batch waits meanwhile, so a passing database error (a failover) does not
   * let later events reach webhooks first.
   */
  private async fanOutLive(
    stored: StoredEvent[],
    range: LiveBatch & { first: number },
  ): Promise<void> {
    for (const delayMs of [...LIVE_FANOUT_RETRY_DELAYS_MS, undefined]) {
      const last = delayMs === undefined || this.stopped;
      if (await this.fanOut(stored, range, last)) return;
      if (last) return;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }

  /**
   * Runs the subscribers, then settles the batch: its range leaves the ledger (old rows: their
   * flag). A live batch's range carries its reservation's subscriptions version.
   */
  private async fanOut(
    stored: StoredEvent[],
    range: ({ organizationId: string; first: number } & Partial<LiveBatch>) | undefined,
    leaveToRecovery = true,
  ): Promise<boolean> {
    const live =
      range?.subscriptionsVersion !== undefined
        ? { organizationId: range.organizationId, subscriptionsVersion: range.subscriptionsVersion }
        : undefined;
    try {
      if (stored.length) for (const subscriber of this.subscribers) await subscriber(stored, live);
      if (range) await this.sequences.settle(range.organizationId, range.first);
      else await this.events.markFannedOut(stored.map((e) => e.id));
      return true;
    } catch (err) {
      this.log.warn(
        { err, count: stored.length },
        leaveToRecovery
          ? 'Event fan-out failed; the recovery pass will retry it'
          : 'Event fan-out failed; trying again shortly',
      );
      return false;
    }
  }

  /** The stored events numbered first to last (read a block at a time). */
  private async eventsInRange(
    organizationId: string,
    first: number,
    last: number,
  ): Promise<StoredEvent[]> {
    const events: StoredEvent[] = [];
    for (let after = first - 1; after < last;) {
      const page = await this.events.findBySequence(
        organizationId,
        { afterSeq: after, uptoSeq: last },
        {},
        last - after,
      );
      events.push(...page.events);
      after = page.through;
    }
    return events;
  }

  /** One pass over the ledger, oldest first (a failure ends it); false when a shutdown came first. */
  private async recoverFanout(before: Date): Promise<boolean> {
    try {
      // Rows written before the fan-out ledger existed carry their own flag; they are the older ones.
      while (!this.stopped) {
        const pending = await this.events.pendingFanout(before, this.options.maxBatch);
        if (pending.length === 0) break;
        this.log.log(
          { count: pending.length },
          'Recovering interrupted event fan-out (flagged rows)',
        );
        if (!(await this.fanOut(pending, undefined))) break;
      }
      for (const range of await this.sequences.stale(before)) {
        if (this.stopped) break;
        const pending = await this.eventsInRange(range.organizationId, range.first, range.last);
        this.log.log({ count: pending.length }, 'Recovering interrupted event fan-out');
        if (!(await this.fanOut(pending, range))) break;
      }
    } catch (err) {
      this.log.warn({ err }, 'Event fan-out recovery failed');
    } finally {
      this.recovering = undefined;
    }
    return !this.stopped;
  }
}
