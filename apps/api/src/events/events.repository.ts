import { duplicateIndexesOf } from '@app/common';
import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, type QueryFilter, Types } from 'mongoose';
import type { EventType, StoredEvent } from './events.types';
import { OutboxEvent } from './schemas/event.schema';

type EventRow = OutboxEvent;

export interface EventQuery {
  types?: EventType[];
  sessionName?: string;
}

const toStored = (row: EventRow): StoredEvent => ({
  id: row._id.toHexString(),
  type: row.type,
  organizationId: row.organizationId,
  sessionName: row.sessionName ?? '',
  occurredAt: row.occurredAt,
  data: row.data ?? {},
  ...(row.seq === undefined ? {} : { seq: row.seq }),
});

/**
 * Sequence numbers are grouped in blocks, and events are indexed by organization and block: a
 * read by sequence names its blocks, so it looks only at the events of the numbers it asks for
 * (the embedded store answers equality and `$in` from an index, not ranges).
 */
export const SEQ_BLOCK = 1024;
const blockOf = (seq: number) => Math.floor(seq / SEQ_BLOCK);

/** One read by sequence: the events, and the last number it covered (read on after it). */
export interface SequencePage {
  events: StoredEvent[];
  through: number;
}

@Injectable()
export class EventsRepository {
  constructor(@InjectModel(OutboxEvent.name) private readonly model: Model<OutboxEvent>) {}

  /** Stores the events; returns the ones stored now (an event whose sourceKey exists is dropped). */
  async insertMany(events: StoredEvent[], createdAt: Date): Promise<StoredEvent[]> {
    const rows = events.map((e) => ({
      _id: new Types.ObjectId(e.id),
      organizationId: e.organizationId,
      type: e.type,
      sessionName: e.sessionName,
      occurredAt: e.occurredAt,
      data: e.data,
      fanoutPending: false, // the sequence's fan-out ledger tracks the batch (EventSequencesRepository)
      createdAt,
      ...(e.seq === undefined ? {} : { seq: e.seq, seqBlock: blockOf(e.seq) }),
      ...(e.sourceKey === undefined ? {} : { sourceKey: e.sourceKey }),
    }));
    try {
      await this.model.collection.insertMany(rows, { ordered: false });
      return events;
    } catch (error) {
      const duplicates = duplicateIndexesOf(error);
      if (!duplicates) throw error;
      return events.filter((_, i) => !duplicates.has(i));
    }
  }

  /**
   * An organization's events with afterSeq < seq ≤ uptoSeq, in sequence order: at most `limit`,
   * and at most SEQ_BLOCK numbers per read. `through` is where the next read starts.
   */
  async findBySequence(
    organizationId: string,
    range: { afterSeq: number; uptoSeq?: number },
    query: EventQuery,
    limit: number,
  ): Promise<SequencePage> {
    const { afterSeq } = range;
    const upto = Math.min(range.uptoSeq ?? Number.POSITIVE_INFINITY, afterSeq + SEQ_BLOCK);
    const blocks: number[] = [];
    for (let block = blockOf(afterSeq + 1); block <= blockOf(upto); block++) blocks.push(block);
    const filter = {
      organizationId,
      seqBlock: { $in: blocks },
      seq: { $gt: afterSeq, $lte: upto },
    };
    const events = await this.page(filter, query, 'seq', limit);
    const full = events.length === limit && limit > 0;
    return { events, through: full ? events[events.length - 1].seq! : upto };
  }

  /** Rows written before the fan-out ledger existed carry their own flag (see pendingFanout). */
  async markFannedOut(ids: string[]): Promise<void> {
    if (!ids.length) return;
    await this.model
      .updateMany(
        { _id: { $in: ids.map((id) => new Types.ObjectId(id)) } },
        { $set: { fanoutPending: false } },
      )
      .exec();
  }

  /**
   * Rows flagged `fanoutPending` whose fan-out did not finish, written before `before`: only rows
   * from before the fan-out ledger (kept for an upgrade; the event retention removes the last of them).
   */
  async pendingFanout(before: Date, limit: number): Promise<StoredEvent[]> {
    const rows = await this.model
      .find({ fanoutPending: true, createdAt: { $lt: before } })
      .sort({ _id: 1 })
      .limit(limit)
      .lean<EventRow[]>()
      .exec();
    return rows.map(toStored);
  }

  async findById(id: string): Promise<StoredEvent | null> {
    if (!Types.ObjectId.isValid(id)) return null;
    const row = await this.model.findById(new Types.ObjectId(id)).lean<EventRow>().exec();
    return row ? toStored(row) : null;
  }

  /** An organization's events after `afterId`, oldest first. */
  async findAfter(
    organizationId: string,
    afterId: string,
    query: EventQuery,
    limit: number,
  ): Promise<StoredEvent[]> {
    const after = { organizationId, _id: { $gt: new Types.ObjectId(afterId) } };
    return this.page(after, query, '_id', limit);
  }

  /** Events matching `filter` and the stream's type/session filter, ascending by `order`. */
  private async page(
    filter: QueryFilter<OutboxEvent>,
    query: EventQuery,
    order: 'seq' | '_id',
    limit: number,
  ): Promise<StoredEvent[]> {
    if (query.types?.length) filter.type = { $in: query.types };
    if (query.sessionName) filter.sessionName = query.sessionName;
    const rows = await this.model
      .find(filter)
      .sort({ [order]: 1 })
      .limit(limit)
      .lean<EventRow[]>()
      .exec();
    return rows.map(toStored);
  }

  async newestId(): Promise<string | undefined> {
    const row = await this.model
      .findOne({}, { _id: 1 })
      .sort({ _id: -1 })
      .lean<{ _id: Types.ObjectId }>()
      .exec();
    return row?._id.toHexString();
  }
}
