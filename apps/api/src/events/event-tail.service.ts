import { type BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { EventOutboxService } from './event-outbox.service';
import { EventSequencesRepository } from './event-sequences.repository';
import { EVENTS_OPTIONS, type EventsOptions } from './events.options';
import { EventsRepository, type SequencePage } from './events.repository';
import type { StoredEvent } from './events.types';

const PAGE = 500;

export type TailListener = (events: StoredEvent[]) => void;

/** What a tail reads: the last number handed out, and stored events by number. */
export interface TailLog {
  head(organizationId: string): Promise<number>;
  read(organizationId: string, after: number, upto: number, limit: number): Promise<SequencePage>;
}

/**
 * One organization's events in sequence order, whichever instance wrote them. `cursor` is the
 * last sequence number delivered or given up: the tail only moves over a missing number (reserved
 * by a writer that has not committed yet) once it stayed missing for `gapTimeoutMs` (a writer
 * that crashed or failed its insert). Each missing number waits that long: one reserved while the
 * tail waited for an older one is not given up with it (its writer may be storing it now).
 */
export class OrganizationTail {
  readonly listeners = new Set<TailListener>();
  /** Since when the cursor waits, and the last number handed out then (those it waits for). */
  private gap?: { since: number; upTo: number };
  private polling?: Promise<void>;
  private again = false;

  constructor(
    private readonly organizationId: string,
    public cursor: number,
    private readonly log: TailLog,
    private readonly gapTimeoutMs: number,
  ) {}

  /**
   * Events this instance just stored: delivered at once when they continue the sequence. `range`
   * is the batch's reserved numbers: those without an event were dropped as repeats and will never
   * be stored, so a batch that starts at the cursor moves it over its whole range, with no wait.
   */
  offer(events: StoredEvent[], range?: { first: number; last: number }): void {
    if (range && range.first === this.cursor + 1) {
      if (events.length) this.deliver(events);
      this.cursor = Math.max(this.cursor, range.last);
      this.gap = undefined;
      return;
    }
    const next = events.filter((e) => e.seq !== undefined && e.seq > this.cursor);
    if (next.length && next[0].seq === this.cursor + 1 && isContiguous(next)) {
      this.deliver(next);
      this.gap = undefined;
    } else if (next.length) {
      this.pollQuietly();
    }
  }

  /** Reads what follows the cursor; concurrent calls coalesce into one more pass. */
  poll(): Promise<void> {
    if (this.polling) {
      this.again = true;
      return this.polling;
    }
    this.polling = this.pass().finally(() => {
      this.polling = undefined;
      if (this.again) {
        this.again = false;
        this.pollQuietly();
      }
    });
    return this.polling;
  }

  /** A poll nobody awaits: a failure is left to the next timed poll, which retries and logs it. */
  private pollQuietly(): void {
    this.poll().catch(() => undefined);
  }

  private async pass(): Promise<void> {
    for (;;) {
      // The counter says whether anything follows; an idle tail costs one lookup per poll.
      const head = await this.log.head(this.organizationId);
      if (head <= this.cursor) {
        this.gap = undefined;
        return;
      }
      const page = await this.log.read(this.organizationId, this.cursor, head, PAGE);
      const ready: StoredEvent[] = [];
      let waiting = false;
      for (const event of page.events) {
        const seq = event.seq!;
        if (seq <= this.cursor) continue; // offered meanwhile by this instance's outbox
        if (seq !== this.cursor + 1 && !this.skipMissing(seq - 1, head)) {
          waiting = true;
          break;
        }
        this.cursor = seq;
        this.gap = undefined;
        ready.push(event);
      }
      if (ready.length) this.deliver(ready);
      if (waiting) return;
      // Numbers up to `through` reserved but not stored (yet): wait for them, or move over them.
      if (this.cursor < page.through && !this.skipMissing(page.through, head)) return;
    }
  }

  /**
   * Moves the cursor over the missing numbers up to `target` that have waited `gapTimeoutMs`: those
   * handed out when the wait began (`head` is the last number handed out now). True once the
   * cursor reached `target`; numbers handed out during the wait start a wait of their own.
   */
  private skipMissing(target: number, head: number): boolean {
    const now = Date.now();
    this.gap ??= { since: now, upTo: head };
    if (now - this.gap.since < this.gapTimeoutMs) return false;
    this.cursor = Math.max(this.cursor, Math.min(target, this.gap.upTo));
    this.gap = this.cursor < target ? { since: now, upTo: head } : undefined;
    return this.gap === undefined;
  }

  private deliver(events: StoredEvent[]): void {
    this.cursor = events[events.length - 1].seq!;
    for (const listener of this.listeners) listener(events);
  }
}

const isContiguous = (events: StoredEvent[]) =>
  events.every((e, i) => i === 0 || e.seq === events[i - 1].seq! + 1);

/**
 * Live events for SSE: per organization with listeners on this instance, one tail polls the event
 * log every `tailPollMs` (events other instances wrote) and takes this instance's own writes at
 * once from the outbox. Listeners get every event once, in sequence order.
 */
@Injectable()
export class EventTailService implements BeforeApplicationShutdown {
  private readonly log = new Logger(EventTailService.name);
  private readonly tails = new Map<string, Promise<OrganizationTail>>();
  private readonly timer: NodeJS.Timeout;
  private readonly reads: TailLog;

  constructor(
    events: EventsRepository,
    private readonly sequences: EventSequencesRepository,
    outbox: EventOutboxService,
    @Inject(EVENTS_OPTIONS) private readonly options: EventsOptions,
  ) {
    this.reads = {
      head: (organizationId) => sequences.current(organizationId),
      read: (organizationId, after, upto, limit) =>
        events.findBySequence(organizationId, { afterSeq: after, uptoSeq: upto }, {}, limit),
    };
    outbox.onStored((organizationId, stored, range) => {
      // A tail that failed to start is dropped (see tailOf); there is nothing to offer to then.
      this.tails
        .get(organizationId)
        ?.then((tail) => tail.offer(stored, range))
        .catch(() => undefined);
    });
    this.timer = setInterval(() => this.pollAll(), options.tailPollMs);
    this.timer.unref();
  }

  beforeApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /**
   * Starts delivering the organization's events after the returned position (the tail's cursor);
   * a caller that replays from the log reads up to it, so nothing falls between. Returns the
   * unsubscribe function too.
   */
  async subscribe(
    organizationId: string,
    listener: TailListener,
  ): Promise<{ position: number; unsubscribe: () => void }> {
    const pending = this.tailOf(organizationId);
    const tail = await pending;
    // The last listener of this tail may have left while we waited, retiring it: join the current one.
    if (this.tails.get(organizationId) !== pending) return this.subscribe(organizationId, listener);
    tail.listeners.add(listener);
    return {
      position: tail.cursor,
      unsubscribe: () => {
        tail.listeners.delete(listener);
        if (tail.listeners.size === 0 && this.tails.get(organizationId) === pending)
          this.tails.delete(organizationId);
      },
    };
  }

  private tailOf(organizationId: string): Promise<OrganizationTail> {
    let tail = this.tails.get(organizationId);
    if (!tail) {
      // Starts at the counter, or before numbers reserved within the gap timeout and not settled:
      // a writer may still be storing them, and the streams' replays (up to the start) miss them.
      const since = new Date(Date.now() - this.options.tailGapTimeoutMs);
      tail = this.sequences
        .tailStart(organizationId, since)
        .then(
          (seq) =>
            new OrganizationTail(organizationId, seq, this.reads, this.options.tailGapTimeoutMs),
        );
      this.tails.set(organizationId, tail);
      tail.catch(() => this.tails.delete(organizationId));
    }
    return tail;
  }

  private pollAll(): void {
    for (const [organizationId, tail] of this.tails)
      void tail
        .then((t) => t.poll())
        .catch((err: unknown) =>
          this.log.warn({ err, organizationId }, 'Reading the event log for live streams failed'),
        );
  }
}
