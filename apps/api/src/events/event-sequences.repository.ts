import { Injectable } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import { type Connection, Types } from 'mongoose';
import { isDuplicateKeyError } from '@app/common';

/**
 * One row per organization in `event_sequences`: `_id` is the organization id, `seq` the last
 * number handed out, `pending` the fan-out ledger (per batch not fanned out yet, keyed
 * `r<first>`, its last number and when it was reserved), and `subscriptionsVersion` a token
 * replaced whenever what the organization's events go to changes (a webhook written).
 */
interface SequenceRow {
  _id: string;
  seq: number;
  pending?: Record<string, { last: number; at: Date }>;
  subscriptionsVersion?: string;
}

/**
 * A batch's numbers start at `first`. `subscriptionsVersion` is the organization's as of the
 * reservation (null before its first change): every change made before the reservation has
 * replaced it, as the same document serializes both.
 */
export interface Reservation {
  first: number;
  subscriptionsVersion: string | null;
}

/** A batch's sequence numbers, `first` to `last`, reserved at `at` and not fanned out yet. */
export interface FanoutRange {
  organizationId: string;
  first: number;
  last: number;
  at: Date;
}

/**
 * For writes a later acknowledged write covers: no wait for the journal sync on a standalone
 * server or the embedded store (the journal is sequential); replica sets still journal a majority.
 */
const NO_JOURNAL_WAIT = { j: false } as const;
const MAX_RESERVE_ATTEMPTS = 20;
const rangeKey = (first: number) => `pending.r${first}`;

/**
 * The organizations' event sequences (one order for the events of every instance) and the fan-out
 * ledger riding on them. A reservation is one conditional write on the number this instance saw
 * last; another instance that moved the sequence meanwhile makes it re-read and try again.
 */
@Injectable()
export class EventSequencesRepository {
  private readonly lastSeen = new Map<string, number>();

  constructor(@InjectConnection() private readonly connection: Connection) {}

  private get rows() {
    return this.connection.collection<SequenceRow>('event_sequences');
  }

  /**
   * Reserves `count` consecutive numbers and returns the first; the same write enters the range
   * in the fan-out ledger until `settle`. Never hands out a number twice, across instances too.
   * Callers keep one reservation per organization in flight (the outbox queue does), so an
   * instance never races itself.
   */
  async reserve(organizationId: string, count: number): Promise<Reservation> {
    for (let attempt = 0; attempt < MAX_RESERVE_ATTEMPTS; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
      const current = this.lastSeen.get(organizationId) ?? (await this.current(organizationId));
      const first = current + 1;
      const last = current + count;
      try {
        const row = await this.rows.findOneAndUpdate(
          current === 0
            ? { _id: organizationId, seq: { $exists: false } }
            : { _id: organizationId, seq: current },
          { $set: { seq: last, [rangeKey(first)]: { last, at: new Date() } } },
          {
            upsert: current === 0,
            returnDocument: 'after',
            projection: { subscriptionsVersion: 1 },
            // The batch's insert, acknowledged after the journal sync, makes this durable too.
            writeConcern: NO_JOURNAL_WAIT,
          },
        );
        if (row) {
          this.lastSeen.set(organizationId, last);
          return { first, subscriptionsVersion: row.subscriptionsVersion ?? null };
        }
      } catch (error) {
        // Two first reservations of one organization race on _id: re-read, as for any other move.
        if (!isDuplicateKeyError(error)) throw error;
      }
      this.lastSeen.delete(organizationId);
    }
    throw new Error(`Could not reserve event numbers for ${organizationId}: too much contention`);
  }

  /**
   * What the organization's events go to changed: batches reserved from now on see a new
   * `subscriptionsVersion`. Resolves once the change is durable.
   */
  async changeSubscriptionsVersion(organizationId: string): Promise<void> {
    const change = () =>
      this.rows.updateOne(
        { _id: organizationId },
        { $set: { subscriptionsVersion: new Types.ObjectId().toHexString() } },
        { upsert: true },
      );
    try {
      await change();
    } catch (error) {
      // Raced the organization's first reservation (or change) on _id: the row exists now.
      if (!isDuplicateKeyError(error)) throw error;
      await change();
    }
  }

  /** The batch starting at `first` was handed to every subscriber: it leaves the ledger. */
  async settle(organizationId: string, first: number): Promise<void> {
    // Lost in a crash, the range is merely fanned out again (deliveries are unique).
    await this.rows.updateOne(
      { _id: organizationId },
      { $unset: { [rangeKey(first)]: '' } },
      { writeConcern: NO_JOURNAL_WAIT },
    );
  }

  /** Ledger ranges reserved before `before` (a crash or a failed fan-out), oldest first per organization. */
  async stale(before: Date): Promise<FanoutRange[]> {
    const rows = await this.rows.find({ pending: { $exists: true, $ne: {} } }).toArray();
    return rows.flatMap((row) =>
      Object.entries(row.pending ?? {})
        .map(([key, range]) => ({ organizationId: row._id, first: Number(key.slice(1)), ...range }))
        .filter((range) => range.at < before)
        .sort((a, b) => a.first - b.first),
    );
  }

  /**
   * Where a new live tail of the organization starts: the last number handed out, or before the
   * oldest range reserved since `since` that is still in the ledger (its events may not be stored
   * yet; a tail that had been running would wait for them).
   */
  async tailStart(organizationId: string, since: Date): Promise<number> {
    const row = await this.rows.findOne(
      { _id: organizationId },
      { projection: { seq: 1, pending: 1 } },
    );
    let start = row?.seq ?? 0;
    for (const [key, range] of Object.entries(row?.pending ?? {}))
      if (range.at >= since) start = Math.min(start, Number(key.slice(1)) - 1);
    return start;
  }

  /** The last number handed out for the organization (0 before its first event). */
  async current(organizationId: string): Promise<number> {
    const row = await this.rows.findOne({ _id: organizationId }, { projection: { seq: 1 } });
    return row?.seq ?? 0;
  }
}
